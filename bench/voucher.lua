-- wrk script of bench/voucher.py: replays pre-signed, single-use terminal requests.
-- Arguments: <file of "timestamp<TAB>nonce<TAB>signature<TAB>body" lines> <terminal key id>.
-- Every request is built once in init(); request() hands out the next one. Past the end of
-- the file it starts over, and the server refuses the replays (non-2xx): the bench fails then.

local requests = {}
local n = 0
local i = 0

function init(args)
  local path, key_id = args[1], args[2]
  for line in io.lines(path) do
    local ts, nonce, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    n = n + 1
    requests[n] = wrk.format("POST", wrk.path, {
      ["Host"] = wrk.host,
      ["Content-Type"] = "application/json",
      ["X-Terminal-Key"] = key_id,
      ["X-Terminal-Timestamp"] = ts,
      ["X-Terminal-Nonce"] = nonce,
      ["X-Terminal-Signature"] = sig,
    }, body)
  end
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return requests[i]
end
