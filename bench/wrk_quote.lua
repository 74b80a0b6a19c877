-- wrk request generator for the freight quote (bench/orders.py).
--   wrk ... -s bench/wrk_quote.lua URL -- PATH PAIRS_FILE
-- POSTs PATH with a quote of one unit of each of two SKUs to 南山区 (440305): each line of
-- PAIRS_FILE is "shop_id sku_a sku_b", taken in turn (each thread starts at its own offset).
-- No credential: the quote is public.
local path = "/"
local bodies = {}
local idx = 0
local headers = { ["Content-Type"] = "application/json" }
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
end

function init(args)
  path = args[1] or "/"
  for line in io.lines(args[2]) do
    local shop, a, b = line:match("^(%S+) (%S+) (%S+)$")
    if shop then
      bodies[#bodies + 1] = string.format(
        '{"items":[{"sku_id":"%s","quantity":1},{"sku_id":"%s","quantity":1}],'
          .. '"region_code":"440305"}',
        a, b)
    end
  end
  idx = ((thread_no or 1) * 7919) % #bodies
end

function request()
  idx = idx % #bodies + 1
  return wrk.format("POST", path, headers, bodies[idx])
end
