-- wrk script for benchmarks/run.py: POST start or stop with form bodies, or GET (viewers).
--
-- Environment:
--   BENCH_KIND          start | stop | get (a viewer: GET the URL, no body, no
--                       Authorization header)
--   BENCH_TOKEN         start/stop: the bench user's token ("Authorization: Token <key>")
--   BENCH_POOL          stop: 8 hex digits naming the id pool (see bench_prepare)
--   BENCH_BASE          stop: first unused index of the pool
--   BENCH_THREADS       stop: wrk's -t (thread t uses indexes base + t, base + t + T, ...)
--   BENCH_RESTOP_EVERY  stop: every Nth request re-stops a stream this thread stopped
--                       earlier (the idempotent path); 0 = never (the default: every
--                       stop ends a fresh live stream, as real traffic does).
--   BENCH_LIMIT         stop each thread after this many responses (0 = run for -d);
--                       a stopped thread creates BENCH_DONE_DIR/<thread>, and run.py
--                       sends wrk SIGINT once every thread is done (wrk itself would
--                       sleep until -d ends)
--   BENCH_PATHS         paired runs: "<baseline path>,<package path>". Requests alternate
--                       between the two on every connection, and BENCH_POOL and
--                       BENCH_BASE hold one value per side ("<baseline>,<package>"),
--                       each side with its own stop ids and re-stop pattern.
-- done() prints one line "BENCH_JSON {...}" with the summary, latency percentiles and
-- the highest fresh stop index each side used (fresh_max, fresh_max2).

local function list(value, convert)
  local items = {}
  for item in string.gmatch(value, "[^,]+") do
    table.insert(items, convert and convert(item) or item)
  end
  return items
end

local kind = os.getenv("BENCH_KIND") or "start"
local token = os.getenv("BENCH_TOKEN") or ""
local paths = list(os.getenv("BENCH_PATHS") or "")
local pools = list(os.getenv("BENCH_POOL") or "00000000")
local bases = list(os.getenv("BENCH_BASE") or "0", tonumber)
local sides = math.max(1, #paths)
local restop_every = tonumber(os.getenv("BENCH_RESTOP_EVERY") or "0")
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")
local done_dir = os.getenv("BENCH_DONE_DIR") or ""

if kind == "get" then
  wrk.method = "GET"
else
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Token " .. token
end
if kind == "start" then
  wrk.body = "type=hls&name=bench"
end

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  sent = 0
  responses = 0
  fresh, side_sent, group_first = {}, {}, {}
  for side = 1, sides do
    fresh[side] = 0
    side_sent[side] = 0
    group_first[side] = bases[side] + tid
  end
  fresh1, fresh2 = 0, 0 -- scalar copies for done(), read through thread:get
end

local function stop_body(side)
  local idx
  local pos = restop_every > 0 and (side_sent[side] % restop_every) or -1
  if pos == restop_every - 1 then
    idx = group_first[side]
  else
    idx = bases[side] + tid + nthreads * fresh[side]
    if pos == 0 then
      group_first[side] = idx
    end
    fresh[side] = fresh[side] + 1
    if side == 1 then fresh1 = fresh[side] else fresh2 = fresh[side] end
  end
  side_sent[side] = side_sent[side] + 1
  return string.format("id=%s-0000-4000-8000-%012x", pools[side], idx)
end

-- A single-side start or get needs no request(): wrk then sends its one prepared request.
if kind == "stop" or sides > 1 then
  function request()
    sent = sent + 1
    local side = (sent - 1) % sides + 1
    local body = kind == "stop" and stop_body(side) or nil
    return wrk.format(nil, paths[side], nil, body)
  end
end

if limit > 0 then
  function response(status, headers, body)
    responses = responses + 1
    if responses == limit then
      if done_dir ~= "" then
        local fh = io.open(done_dir .. "/" .. tid, "w")
        if fh then fh:close() end
      end
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local fresh_max, fresh_max2 = 0, 0
  for _, t in ipairs(threads) do
    fresh_max = math.max(fresh_max, t:get("fresh1") or 0)
    fresh_max2 = math.max(fresh_max2, t:get("fresh2") or 0)
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"mean_us":%.1f,"max_us":%.0f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"fresh_max":%d,"fresh_max2":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, fresh_max, fresh_max2))
end
