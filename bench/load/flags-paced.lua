-- wrk script: POST /flags at a paced rate. Each connection waits 3 ms between a response and its
-- next request, so 84 connections send about 20,000 requests/s (half the target throughput), and
-- the latency wrk reports is the server's at that rate.
dofile("bench/load/flags.lua")

function delay()
  return 3
end
