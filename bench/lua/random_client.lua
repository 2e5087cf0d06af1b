-- wrk script: every request from another client address (X-Forwarded-For, one of 16M), so
-- per-client state (the throttles' counters) stays as small as many real clients keep it. The
-- server must trust one proxy (NUM_PROXIES=1). Used by bench/cpu_split.sh (WRK_SCRIPT).
math.randomseed(os.time())

request = function()
  local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format(nil, nil, { ["X-Forwarded-For"] = ip })
end
