{{/* The chart's name. */}}
{{- define "bosun.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name; every object's name starts with it. */}}
{{- define "bosun.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "bosun.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "bosun.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: bosun
{{- end }}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "controller"). */}}
{{- define "bosun.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bosun.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of one component's objects. */}}
{{- define "bosun.componentLabels" -}}
{{ include "bosun.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The ServiceAccount of the controllers. */}}
{{- define "bosun.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create }}
{{- default (printf "%s-controller" (include "bosun.fullname" .)) .Values.controller.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.controller.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The ServiceAccount of the DNS server. */}}
{{- define "bosun.dns.serviceAccountName" -}}
{{- if .Values.dns.serviceAccount.create }}
{{- default (printf "%s-dns" (include "bosun.fullname" .)) .Values.dns.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.dns.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Lease the controllers elect their leader with. */}}
{{- define "bosun.leaseName" -}}
{{- default (printf "%s-controller" (include "bosun.fullname" .)) .Values.controller.leaderElection.leaseName }}
{{- end }}

{{/* The image, tag defaulting to the chart's appVersion. */}}
{{- define "bosun.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
BOSUN_LOG of a component (an EnvFilter): logLevel; for the DNS server at info, hickory's crates
stay at warn (hickory-server logs every TCP query at info), as bosun dns does by default.
*/}}
{{- define "bosun.logFilter" -}}
{{- $level := .ctx.Values.logLevel -}}
{{- if and (eq .component "dns") (eq $level "info") -}}
{{- printf "%s,hickory_server=warn,hickory_net=warn,hickory_resolver=warn" $level -}}
{{- else -}}
{{- $level -}}
{{- end -}}
{{- end }}

{{/*
Refuses a controller.leaderElection.leaseDuration that `bosun run --lease-duration` would refuse
for its length: under 3s (MIN_LEASE in controllers/bosun/src/main.rs) or over 2147483647s (a
Lease's leaseDurationSeconds is an int32). The schema's pattern has already checked that it is a
non-negative Go duration, but JSON Schema cannot compare durations (a pattern cannot even add
up `1s1s1s`, which Go reads as 3s), so the check is here, at template time, and `helm install`,
`helm template` and `helm lint` fail naming the key rather than the Pod crash-looping.
It adds up nanoseconds as Go's time.ParseDuration does, with sprig's float functions: per
number-and-unit, integer part times the unit plus the fraction times the unit truncated, so
`2.9999999999999999s` is 2999999999ns here as in bosun (float64 holds every such sum exactly
below 2^53ns, 104 days). Only fractions of 17 or more significant digits can round otherwise.
Included by controller-deployment.yaml; renders nothing.
*/}}
{{- define "bosun.checkLeaseDuration" -}}
{{- $key := "controller.leaderElection.leaseDuration" }}
{{- $d := toString .Values.controller.leaderElection.leaseDuration }}
{{- $unitNs := dict "ns" 1.0 "us" 1e3 "µs" 1e3 "μs" 1e3 "ms" 1e6 "s" 1e9 "m" 60e9 "h" 3600e9 }}
{{- $ns := 0.0 }}
{{- range regexFindAll "[0-9]*\\.?[0-9]*(ns|us|µs|μs|ms|s|m|h)" $d -1 }}
{{- $number := regexFind "^[0-9]*\\.?[0-9]*" . }}
{{- $unit := get $unitNs (trimPrefix $number .) }}
{{- $int := regexFind "^[0-9]*" $number }}
{{- $frac := trimPrefix "." (trimPrefix $int $number) }}
{{- $ns = addf $ns (mulf (float64 (default "0" $int)) $unit) }}
{{- if $frac }}
{{- $ns = addf $ns (floor (mulf (float64 (printf "0.%s" $frac)) $unit)) }}
{{- end }}
{{- end }}
{{- if lt $ns 3e9 }}
{{- fail (printf "%s: %q is shorter than 3s, the shortest lease bosun accepts (it renews a third of the lease before it expires)" $key $d) }}
{{- end }}
{{- if ge $ns 2147483648e9 }}
{{- fail (printf "%s: %q is longer than 2147483647s, the longest a Lease's leaseDurationSeconds (an int32) holds" $key $d) }}
{{- end }}
{{- end }}

{{/* A zone as the servers compare it: lower case, without the final dot. */}}
{{- define "bosun.normalZone" -}}
{{- . | lower | trimSuffix "." -}}
{{- end }}

{{/* Refuse to render a DNS server that cannot work: a zone other than the one the dns
controller writes, the dns controller without the endpointslice controller it reads from, a
clusterDNS mode without its address. */}}
{{- define "bosun.dns.validate" -}}
{{- $controllers := .Values.controller.controllers }}
{{- if has "dns" $controllers }}
{{- if ne (include "bosun.normalZone" .Values.dns.zone) (include "bosun.normalZone" .Values.controller.dnsZone) }}
{{- fail (printf "dns.zone (%s) and controller.dnsZone (%s) differ: the server would answer a zone no records are written for" .Values.dns.zone .Values.controller.dnsZone) }}
{{- end }}
{{- if not (has "endpointslice" $controllers) }}
{{- fail "controller.controllers has dns without endpointslice: the dns controller reads the EndpointSlices that controller writes" }}
{{- end }}
{{- end }}
{{- if and .Values.dns.clusterDNS.enabled (not .Values.dns.clusterDNS.clusterIP) }}
{{- fail "dns.clusterDNS.enabled needs dns.clusterDNS.clusterIP (the address the kubelets give pods as nameserver)" }}
{{- end }}
{{- end }}
