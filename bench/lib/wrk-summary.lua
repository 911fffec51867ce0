-- wrk script (bench/lib/wrk.ts runs `wrk ... -s bench/lib/wrk-summary.lua`): when the run ends,
-- writes one JSON object to the file named by $WRK_SUMMARY. Latencies are in microseconds.
-- `quantiles` holds [p, latency:percentile(p)] on a grid (1..99 by 1, 99.1..99.9 by 0.1, 99.95,
-- 99.99, 100), so runs of the same target can be pooled (bench/lib/wrk-summary.ts).

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
    '{"requests":%.0f,"durationUs":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latencyUs":{"min":%.0f,"mean":%.1f,"max":%.0f,"p50":%.0f,"p99":%.0f},"quantiles":[%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(99),
    table.concat(q, ",")))
  f:close()
end
