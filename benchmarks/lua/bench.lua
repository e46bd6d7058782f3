-- wrk script for benchmarks/run.py: POST start or stop with form bodies.
--
-- Environment:
--   BENCH_KIND          start | stop
--   BENCH_TOKEN         the bench user's token (header "Authorization: Token <key>")
--   BENCH_POOL          stop: 8 hex digits naming the id pool (see bench_prepare)
--   BENCH_BASE          stop: first unused index of the pool
--   BENCH_THREADS       stop: wrk's -t (thread t uses indexes base + t, base + t + T, ...)
--   BENCH_RESTOP_EVERY  stop: every Nth request re-stops a stream this thread stopped
--                       earlier (the idempotent path); 0 = never. Default 4.
--   BENCH_LIMIT         stop each thread after this many responses (0 = run for -d);
--                       a stopped thread creates BENCH_DONE_DIR/<thread>, and run.py
--                       sends wrk SIGINT once every thread is done (wrk itself would
--                       sleep until -d ends)
-- done() prints one line "BENCH_JSON {...}" with the summary and latency percentiles.

local kind = os.getenv("BENCH_KIND") or "start"
local token = os.getenv("BENCH_TOKEN") or ""
local pool = os.getenv("BENCH_POOL") or "00000000"
local base = tonumber(os.getenv("BENCH_BASE") or "0")
local restop_every = tonumber(os.getenv("BENCH_RESTOP_EVERY") or "4")
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")
local done_dir = os.getenv("BENCH_DONE_DIR") or ""

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Token " .. token
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
  fresh = 0
  sent = 0
  responses = 0
  group_first = base + tid
end

if kind == "stop" then
  function request()
    local idx
    local pos = restop_every > 0 and (sent % restop_every) or -1
    if pos == restop_every - 1 then
      idx = group_first
    else
      idx = base + tid + nthreads * fresh
      if pos == 0 then
        group_first = idx
      end
      fresh = fresh + 1
    end
    sent = sent + 1
    return wrk.format(nil, nil, nil, string.format("id=%s-0000-4000-8000-%012x", pool, idx))
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
  local fresh_max = 0
  for _, t in ipairs(threads) do
    local f = t:get("fresh")
    if f and f > fresh_max then
      fresh_max = f
    end
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"mean_us":%.1f,"max_us":%.0f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"fresh_max":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, fresh_max))
end
