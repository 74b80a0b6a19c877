-- wrk request generator for the order benchmark (bench/orders.py).
--   wrk ... -s bench/wrk_order.lua URL -- PATH PAIRS_FILE
-- POSTs PATH with an order of one unit of each of two SKUs: each line of PAIRS_FILE is
-- "shop_id sku_a sku_b", taken in turn (each thread starts at its own offset). Every request
-- carries an Idempotency-Key of its own (BENCH_KEY_PREFIX, the thread, a counter), and
-- "Authorization: Bearer BENCH_TOKEN" when that is set.
local path = "/"
local bodies = {}
local idx = 0
local n = 0
local prefix = ""
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
        '{"shop_id":"%s","items":[{"sku_id":"%s","quantity":1},{"sku_id":"%s","quantity":1}]}',
        shop, a, b)
    end
  end
  idx = ((thread_no or 1) * 7919) % #bodies
  prefix = (os.getenv("BENCH_KEY_PREFIX") or "bench") .. "-" .. (thread_no or 1) .. "-"
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  idx = idx % #bodies + 1
  n = n + 1
  headers["Idempotency-Key"] = prefix .. n
  return wrk.format("POST", path, headers, bodies[idx])
end
