-- wrk script for benchmarks/run.py's paired runs: every connection alternates the
-- baseline's and the package's endpoint request by request, so both sides are measured
-- under the same conditions at the same moments (benchproject/request_cpu.py sums the
-- server-side CPU per path). Stop requests follow bench.lua's id scheme, one pool and
-- one set of counters per side.
--
-- Environment:
--   BENCH_KIND          start | stop
--   BENCH_TOKEN         the bench user's token
--   BENCH_PATHS         "<baseline path>,<package path>"
--   BENCH_POOLS         stop: "<baseline pool>,<package pool>"
--   BENCH_BASES         stop: "<first unused baseline index>,<first unused package index>"
--   BENCH_THREADS       wrk's -t
--   BENCH_RESTOP_EVERY  stop: every Nth request of a side re-stops that side's stream
-- done() prints "BENCH_JSON {...}" with the request count and each side's fresh_max.

local function pair(value)
  local a, b = string.match(value or "", "^([^,]*),([^,]*)$")
  return { a, b }
end

local kind = os.getenv("BENCH_KIND") or "start"
local token = os.getenv("BENCH_TOKEN") or ""
local paths = pair(os.getenv("BENCH_PATHS"))
local pools = pair(os.getenv("BENCH_POOLS") or "00000000,00000000")
local bases = pair(os.getenv("BENCH_BASES") or "0,0")
local restop_every = tonumber(os.getenv("BENCH_RESTOP_EVERY") or "4")

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
  sent = 0
  per_side_sent = { 0, 0 }
  first = { tonumber(bases[1]) + tid, tonumber(bases[2]) + tid }
  fresh1 = 0
  fresh2 = 0
end

local function next_id(side)
  local fresh = side == 1 and fresh1 or fresh2
  local s = per_side_sent[side]
  local pos = restop_every > 0 and (s % restop_every) or -1
  local idx
  if pos == restop_every - 1 then
    idx = first[side]
  else
    idx = tonumber(bases[side]) + tid + nthreads * fresh
    if pos == 0 then
      first[side] = idx
    end
    if side == 1 then fresh1 = fresh1 + 1 else fresh2 = fresh2 + 1 end
  end
  per_side_sent[side] = s + 1
  return string.format("id=%s-0000-4000-8000-%012x", pools[side], idx)
end

function request()
  sent = sent + 1
  local side = (sent % 2 == 1) and 1 or 2
  if kind == "start" then
    return wrk.format(nil, paths[side])
  end
  return wrk.format(nil, paths[side], nil, next_id(side))
end

function done(summary, latency, requests)
  local max1, max2 = 0, 0
  for _, t in ipairs(threads) do
    max1 = math.max(max1, t:get("fresh1") or 0)
    max2 = math.max(max2, t:get("fresh2") or 0)
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":%d,"fresh_max":[%d,%d]}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout, max1, max2))
end
