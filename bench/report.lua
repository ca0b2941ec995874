-- SPDX-License-Identifier: MIT
-- report.lua -- wrk done() hook shared by the bench scripts: one machine-readable line
-- "RESULT {...}" (latencies in ms) that bench/run.sh reads.
function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests":%d,"rps":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.requests / secs, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
