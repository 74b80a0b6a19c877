-- wrk request generator for bench/run.py.
--   wrk ... -s bench/wrk.lua URL -- PATH_TEMPLATE [IDS_FILE]
-- PATH_TEMPLATE may hold "{id}", replaced in turn by each line of IDS_FILE (each thread starts
-- at its own offset). BENCH_TOKEN, when set, is sent as "Authorization: Bearer <token>".
local template = "/"
local ids = {}
local idx = 0
local headers = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
end

function init(args)
  template = args[1] or "/"
  if args[2] and args[2] ~= "" then
    for line in io.lines(args[2]) do
      if line ~= "" then ids[#ids + 1] = line end
    end
  end
  if #ids > 0 then
    idx = ((thread_no or 1) * 7919) % #ids
  end
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  local path = template
  if #ids > 0 then
    idx = idx % #ids + 1
    path = (template:gsub("{id}", ids[idx]))
  end
  return wrk.format("GET", path, headers)
end
