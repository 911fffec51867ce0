-- wrk script (bench/lib/wrk.ts runs `wrk ... -s bench/lib/wrk-summary.lua`): when the run ends,
-- writes one JSON object to the file named by $WRK_SUMMARY. Latencies are in microseconds.
-- `quantiles` holds [p, latency:percentile(p)] on a grid (1..99 by 1, 99.1..99.9 by 0.1, 99.95,
-- 99.99, 100), so runs of the same target can be pooled (bench/lib/wrk-summary.ts).
--
-- With $WRK_START_DELAY_MS > 0 (and $WRK_CONNECTIONS, wrk's -c), each connection's first request
-- waits that long: every connection is open, and accepted by the server, before the load starts.
-- Without it a run also measures the server accepting its connections under load, and Node
-- (libuv >= 1.45) accepts one new connection per event-loop turn, each turn serving every
-- connection already open: the last of 200 waits a few hundred ms for its first response. The
-- summary's `startDelayUs` lets the run's req/s leave the pause out. wrk only asks `delay` when
-- the script defines it: with the pause, every later request takes wrk's delay path with 0 ms (a
-- timer event each; req/s did not move, see README), and a run without it pays nothing.

local start_delay_ms = tonumber(os.getenv("WRK_START_DELAY_MS") or "0") or 0
if start_delay_ms > 0 then
  local connections = assert(tonumber(os.getenv("WRK_CONNECTIONS") or ""), "WRK_CONNECTIONS is not set")
  -- wrk asks before every request; the first `connections` asks are the connections' first requests.
  local asked = 0
  delay = function()
    if asked < connections then
      asked = asked + 1
      return start_delay_ms
    end
    return 0
  end
end

local grid = {}
for p = 1, 99 do grid[#grid + 1] = p end
for i = 1, 9 do grid[#grid + 1] = 99 + i / 10 end
grid[#grid + 1] = 99.95
grid[#grid + 1] = 99.99
grid[#grid + 1] = 100

done = function(summary, latency, requests)
  local out = assert(os.getenv("WRK_SUMMARY"), "WRK_SUMMARY is not set")
  local q = {}
  for i, p in ipairs(grid) do
    q[i] = string.format("[%g,%.0f]", p, latency:percentile(p))
  end
  local e = summary.errors
  local f = assert(io.open(out, "w"))
  f:write(string.format(
    '{"requests":%.0f,"durationUs":%.0f,"startDelayUs":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latencyUs":{"min":%.0f,"mean":%.1f,"max":%.0f,"p50":%.0f,"p99":%.0f},"quantiles":[%s]}\n',
    summary.requests, summary.duration, start_delay_ms * 1000, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(99),
    table.concat(q, ",")))
  f:close()
end
