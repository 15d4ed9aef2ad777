-- wrk script: POST pre-signed Jira deliveries, rotating through a file of `<X-Hub-Signature>\t<body>`
-- lines, each request with its own X-Atlassian-Webhook-Identifier (so every request is a new delivery,
-- not a duplicate). Usage: wrk -s signed_rotating.lua URL -- BODIES_FILE PATH RUN_ID
local bodies, signatures = {}, {}
local counter = 0
local path, run = "/webhooks/jira", "run"
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("tid", next_thread)
end

function init(args)
  path = args[2] or path
  run = args[3] or run
  for line in io.lines(args[1]) do
    local signature, body = line:match("^(%S+)\t(.*)$")
    if signature then
      signatures[#signatures + 1] = signature
      bodies[#bodies + 1] = body
    end
  end
end

function request()
  counter = counter + 1
  local i = (counter + tid * 7919) % #bodies + 1
  local headers = {
    ["Content-Type"] = "application/json; charset=UTF-8",
    ["X-Hub-Signature"] = signatures[i],
    ["X-Atlassian-Webhook-Identifier"] = run .. "-" .. tid .. "-" .. counter,
  }
  return wrk.format("POST", path, headers, bodies[i])
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
