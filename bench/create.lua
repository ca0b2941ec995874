-- SPDX-License-Identifier: MIT
-- create.lua -- wrk script: POST /v1/orders with a unique external_id per request.
-- Set the key with: wrk ... -s bench/create.lua URL -- sk_test_...
-- Ids are "<run>-<thread>-<n>" with small integers (LuaJIT prints big numbers as
-- %.14g, which would make ids collide).
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(dir .. "report.lua")
local counter = 0
local key = "sk_missing"
local prefix = ""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  key = args[1] or key
  prefix = string.format("%d-%d-", os.time(), tid)
end
function request()
  counter = counter + 1
  local body = '{"external_id":"B-' .. prefix .. counter .. '","currency":"EUR","customer":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+33612345678"},"shipping_address":{"name":"Ada Lovelace","line1":"1 rue de la Paix","city":"Paris","postal_code":"75002","country":"FR"},"line_items":[{"external_id":"L1","name":"Tea pot","sku":"TP-1","quantity":2,"unit_price":4295},{"external_id":"L2","name":"Green tea 100 g","sku":"GT-100","quantity":3,"unit_price":1250}],"shipping_amount":495,"metadata":{"cart_id":"c-' .. prefix .. counter .. '"},"platform":"woocommerce","source":"web","locale":"fr-FR"}'
  return wrk.format("POST", "/v1/orders", {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end
