-- SPDX-License-Identifier: MIT
-- get.lua -- wrk script: GET the URL's path with a bearer key (wrk ... -- sk_test_...).
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(dir .. "report.lua")
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. (args[1] or "")
end
