-- Argo CD health check for im.chatgroup.dev/ChatGroup. Argo passes the object as
-- the table `obj` and expects {status = ..., message = ...} back.
local hs = { status = "Progressing", message = "Waiting for the operator to report status" }

local function condition(conditions, kind)
  for _, c in ipairs(conditions or {}) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  local text = c.reason or fallback
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

if obj.status == nil then
  return hs
end

-- Conditions written for an older spec say nothing about the current one.
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(obj.status.conditions, "Ready")
local stalled = condition(obj.status.conditions, "Stalled")

-- Stalled wins over a Ready kept from before: the declared spec is not applied and
-- will not be until someone changes it.
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

-- A Ready kept through a failure speaks for the generation it was earned on: the
-- current spec is still being applied.
if ready ~= nil and ready.status == "True" and ready.observedGeneration ~= nil
    and generation ~= nil and ready.observedGeneration < generation then
  local reconciling = condition(obj.status.conditions, "Reconciling")
  if reconciling ~= nil and reconciling.status == "True" then
    hs.message = describe(reconciling, "Reconciling")
  else
    hs.message = "Applying generation " .. tostring(generation)
  end
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

if ready ~= nil and ready.status == "False" and ready.reason == "ExternallyDisbanded" then
  hs.status = "Degraded"
  hs.message = describe(ready, "ExternallyDisbanded")
  return hs
end

if ready ~= nil then
  hs.message = describe(ready, "NotReady")
end
return hs
