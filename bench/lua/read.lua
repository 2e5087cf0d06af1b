-- wrk script for the read scenarios (bench/runner.py sets the environment):
--   BENCH_PATHS   file with one request path per line, sent round-robin (required)
--   BENCH_TOKENS  optional file with one JWT access token per line, rotated as Bearer tokens
--   BENCH_BUDGET  request budget for the whole run (split evenly across wrk threads)
--   BENCH_OUT     where done() writes the JSON summary
-- Each thread counts responses by status class so 5xx are reported apart from other errors.

local function read_lines(name)
  local lines = {}
  if name == nil or name == "" then
    return lines
  end
  local f = assert(io.open(name, "r"))
  for line in f:lines() do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  f:close()
  return lines
end

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  paths = read_lines(os.getenv("BENCH_PATHS"))
  tokens = read_lines(os.getenv("BENCH_TOKENS"))
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  budget = math.floor(tonumber(os.getenv("BENCH_BUDGET") or "0") / nthreads)
  -- Start each thread at a different offset so threads do not request the same rows in step.
  cursor = id * 7919
  responses = 0
  s2xx, s3xx, s4xx, s5xx = 0, 0, 0, 0
end

function request()
  cursor = cursor + 1
  local path = paths[(cursor % #paths) + 1]
  if #tokens > 0 then
    local token = tokens[(cursor % #tokens) + 1]
    return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  responses = responses + 1
  if status >= 500 then
    s5xx = s5xx + 1
  elseif status >= 400 then
    s4xx = s4xx + 1
  elseif status >= 300 then
    s3xx = s3xx + 1
  else
    s2xx = s2xx + 1
  end
  if budget > 0 and responses >= budget then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t = { s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + (thread:get(k) or 0)
    end
  end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"status": {"2xx": %d, "3xx": %d, "4xx": %d, "5xx": %d}, '
      .. '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, '
      .. '"p50": %d, "p90": %d, "p95": %d, "p99": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    t.s2xx, t.s3xx, t.s4xx, t.s5xx,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99)
  ))
  out:close()
end
