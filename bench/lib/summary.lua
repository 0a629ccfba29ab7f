-- wrk `done` hook: prints the run's summary as one JSON line prefixed with WRK_SUMMARY.
-- Durations and latencies are in microseconds (wrk's own unit).
done = function(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local rps = 0
  if seconds > 0 then rps = summary.requests / seconds end
  local n = summary.requests
  local function lat(v)
    if n == 0 then return 0 end
    return v
  end
  io.write(string.format(
    'WRK_SUMMARY {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"min":%.0f,"mean":%.1f,"stdev":%.1f,"max":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f},' ..
    '"requests_per_s":%.1f}\n',
    n, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    lat(latency.min), lat(latency.mean), lat(latency.stdev), lat(latency.max),
    lat(latency:percentile(50)), lat(latency:percentile(90)), lat(latency:percentile(99)),
    lat(latency:percentile(99.9)),
    rps))
end
