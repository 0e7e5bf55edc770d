-- Argo CD health check for bosun's apps.bosun.dev/v1 Deployment and ReplicaSet.
--
-- The same rules, in the same order and with the same messages, as Argo CD's built-in checks
-- of apps/v1 Deployment and ReplicaSet (gitops-engine pkg/health/health_deployment.go and
-- health_replicaset.go), so an Application shows a bosun workload exactly as it would show
-- the upstream one. One script for both kinds: install it under both keys of argocd-cm,
--   resource.customizations.health.apps.bosun.dev_Deployment
--   resource.customizations.health.apps.bosun.dev_ReplicaSet
-- (docs/operations.md). Argo CD runs it in gopher-lua (Lua 5.1) with the object as the global
-- `obj`; it uses the base library only.
--
-- Deployment, first rule that holds:
--   spec.paused                                   Suspended   "Deployment is paused"
--   metadata.generation > status.observedGeneration  Progressing "... observed deployment generation less then desired generation"
--   Progressing condition reason ProgressDeadlineExceeded  Degraded  "Deployment \"<name>\" exceeded its progress deadline"
--   status.updatedReplicas < spec.replicas        Progressing "<updated> out of <replicas> new replicas have been updated..."
--   status.replicas > status.updatedReplicas      Progressing "<replicas - updated> old replicas are pending termination..."
--   status.availableReplicas < updatedReplicas    Progressing "<available> of <updated> updated replicas are available..."
--   otherwise                                     Healthy
-- ReplicaSet, first rule that holds:
--   metadata.generation > status.observedGeneration  Progressing "... observed replica set generation less then desired generation"
--   ReplicaFailure condition status True          Degraded    the condition's message
--   status.availableReplicas < spec.replicas      Progressing "<available> out of <replicas> new replicas are available..."
--   otherwise                                     Healthy
-- ("less then" is Argo CD's own spelling, kept so that both kinds read alike.)
-- Fields the API server leaves out count as zero, as they do in Go's typed structs.

local function num(v)
  if v == nil then
    return 0
  end
  return v
end

local function condition(status, type_)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type_ then
      return c
    end
  end
  return nil
end

local function deployment_health(o)
  local spec = o.spec or {}
  local status = o.status or {}
  if spec.paused == true then
    return { status = "Suspended", message = "Deployment is paused" }
  end
  if num(o.metadata.generation) > num(status.observedGeneration) then
    return {
      status = "Progressing",
      message = "Waiting for rollout to finish: observed deployment generation less then desired generation",
    }
  end
  local progressing = condition(status, "Progressing")
  local updated = num(status.updatedReplicas)
  if progressing ~= nil and progressing.reason == "ProgressDeadlineExceeded" then
    return {
      status = "Degraded",
      message = "Deployment \"" .. o.metadata.name .. "\" exceeded its progress deadline",
    }
  end
  if spec.replicas ~= nil and updated < spec.replicas then
    return {
      status = "Progressing",
      message = "Waiting for rollout to finish: " .. updated .. " out of " .. spec.replicas
        .. " new replicas have been updated...",
    }
  end
  if num(status.replicas) > updated then
    return {
      status = "Progressing",
      message = "Waiting for rollout to finish: " .. (num(status.replicas) - updated)
        .. " old replicas are pending termination...",
    }
  end
  if num(status.availableReplicas) < updated then
    return {
      status = "Progressing",
      message = "Waiting for rollout to finish: " .. num(status.availableReplicas) .. " of " .. updated
        .. " updated replicas are available...",
    }
  end
  return { status = "Healthy" }
end

local function replicaset_health(o)
  local spec = o.spec or {}
  local status = o.status or {}
  if num(o.metadata.generation) > num(status.observedGeneration) then
    return {
      status = "Progressing",
      message = "Waiting for rollout to finish: observed replica set generation less then desired generation",
    }
  end
  local failure = condition(status, "ReplicaFailure")
  if failure ~= nil and failure.status == "True" then
    return { status = "Degraded", message = failure.message }
  end
  if spec.replicas ~= nil and num(status.availableReplicas) < spec.replicas then
    return {
      status = "Progressing",
      message = "Waiting for rollout to finish: " .. num(status.availableReplicas) .. " out of "
        .. spec.replicas .. " new replicas are available...",
    }
  end
  return { status = "Healthy" }
end

local hs
if obj.kind == "ReplicaSet" then
  hs = replicaset_health(obj)
else
  hs = deployment_health(obj)
end
return hs
