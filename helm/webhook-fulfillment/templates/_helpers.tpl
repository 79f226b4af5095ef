{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "wf.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's resources. */}}
{{- define "wf.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "wf.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "wf.labels" -}}
helm.sh/chart: {{ include "wf.chart" . }}
{{ include "wf.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: webhook-fulfillment
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "wf.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wf.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selects the service's pods (not the migration job's). */}}
{{- define "wf.serverSelectorLabels" -}}
{{ include "wf.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "wf.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wf.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wf.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Secret names: the value, or <fullname>-<suffix>. */}}
{{- define "wf.databaseSecretName" -}}
{{- default (printf "%s-database" (include "wf.fullname" .)) .Values.database.existingSecret }}
{{- end }}

{{- define "wf.callersSecretName" -}}
{{- default (printf "%s-callers" (include "wf.fullname" .)) .Values.callers.existingSecret }}
{{- end }}

{{- define "wf.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "wf.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{/* Whether client certificates are requested (mTLS), so a client CA is mounted. */}}
{{- define "wf.mtls" -}}
{{- if and .Values.tls.enabled (ne .Values.tls.clientAuth "off") }}true{{ end }}
{{- end }}

{{/*
Whether the pod reaches the Kubernetes API server with a projected service-account token and the cluster CA: for
TokenReview (kubernetesTokenReview) or for the discovery and keys of callers whose issuer is the API server
(kubernetesIssuer).
*/}}
{{- define "wf.kubeApiAccess" -}}
{{- if or .Values.kubernetesTokenReview.enabled .Values.kubernetesIssuer.enabled }}true{{ end }}
{{- end }}

{{- define "wf.httpPortName" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

{{- define "wf.httpScheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* Longer than SHUTDOWN_DELAY_MS + SHUTDOWN_GRACE_MS, so the service's own deadline comes before SIGKILL. */}}
{{- define "wf.terminationGracePeriodSeconds" -}}
{{- /* The service's longest stop: graceMs, then at most 1000 ms for its last log lines (delayMs is part of graceMs,
       counted again as margin). */}}
{{- $needed := div (add .Values.shutdown.delayMs .Values.shutdown.graceMs 1000 999) 1000 }}
{{- if kindIs "invalid" .Values.shutdown.terminationGracePeriodSeconds }}
{{- add $needed 5 }}
{{- else }}
{{- int64 .Values.shutdown.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* A ConfigMap value: whole numbers without an exponent (YAML numbers arrive as float64), the rest as text. */}}
{{- define "wf.envValue" -}}
{{- if kindIs "float64" . }}
{{- if eq (float64 (int64 .)) . }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else }}
{{- . }}
{{- end }}
{{- end }}

{{/* NODE_OPTIONS: the V8 heap's limits (heap.*); `oldSpaceMiB` replaces heap.maxOldSpaceMiB when given. */}}
{{- define "wf.nodeOptions" -}}
{{- $heap := .root.Values.heap -}}
{{- printf "--max-old-space-size=%d" (int64 (default $heap.maxOldSpaceMiB .oldSpaceMiB)) -}}
{{- if not (kindIs "invalid" $heap.maxSemiSpaceMiB) }} {{ printf "--max-semi-space-size=%d" (int64 $heap.maxSemiSpaceMiB) }}{{- end -}}
{{- end }}

{{/*
A Kubernetes memory quantity in MiB, rounded down; empty when unset or not a quantity. Every form the API server
takes: a decimal number (512, 0.4, .5, 1.) with a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal one (m k M G T P E)
or an exponent (5e8, 1E+9; values files deliver plain numbers as floats, e.g. 5.36870912e+08). Like Kubernetes,
fractional bytes are rounded up first. scripts/check-chart.mjs (memoryMiB) reads them the same way.
*/}}
{{- define "wf.memoryMiB" -}}
{{- $q := toString . -}}
{{- if regexMatch "^[+]?([0-9]+[.]?[0-9]*|[.][0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][-+]?[0-9]+)?$" $q -}}
{{- $number := regexFind "^[+]?([0-9]+[.]?[0-9]*|[.][0-9]+)" $q -}}
{{- $suffix := trimPrefix $number $q -}}
{{- $bytes := float64 (trimPrefix "+" $number) -}}
{{- $binary := dict "Ki" 1 "Mi" 2 "Gi" 3 "Ti" 4 "Pi" 5 "Ei" 6 -}}
{{- $decimal := dict "k" 1 "M" 2 "G" 3 "T" 4 "P" 5 "E" 6 -}}
{{- if hasKey $binary $suffix }}
{{- range until (int (get $binary $suffix)) }}{{ $bytes = mulf $bytes 1024 }}{{ end }}
{{- else if hasKey $decimal $suffix }}
{{- range until (int (get $decimal $suffix)) }}{{ $bytes = mulf $bytes 1000 }}{{ end }}
{{- else if eq $suffix "m" }}
{{- $bytes = divf $bytes 1000 }}
{{- else if $suffix }}
{{- /* An exponent: 10^n, exact for the n a memory size has; divided by for a negative n. */}}
{{- $exponent := atoi (substr 1 (len $suffix) $suffix) }}
{{- $power := 1.0 }}
{{- range until (int (ternary (mul -1 $exponent) $exponent (lt $exponent 0))) }}{{ $power = mulf $power 10 }}{{ end }}
{{- $bytes = ternary (divf $bytes $power) (mulf $bytes $power) (lt $exponent 0) }}
{{- end }}
{{- int64 (floor (divf (ceil $bytes) 1048576)) }}
{{- end -}}
{{- end }}

{{/*
MiB of a memory limit V8's heap may not use: the young generation (three semi-spaces; without
heap.maxSemiSpaceMiB, V8's default in the image's Node 24: 64 MiB each, whatever the old space, where Node 20 had 16)
and 64 MiB for code, buffers and TLS.
*/}}
{{- define "wf.heapOverheadMiB" -}}
{{- add (mul 3 (default 64 .Values.heap.maxSemiSpaceMiB | int64)) 64 -}}
{{- end }}

{{/*
The migration Job's old space: heap.maxOldSpaceMiB, or less when the Job's own memory limit is smaller (it shares
NODE_OPTIONS with the service otherwise, and V8 would grow past its cgroup limit).
*/}}
{{- define "wf.migrationOldSpaceMiB" -}}
{{- $limit := include "wf.memoryMiB" (dig "limits" "memory" "" .Values.migrations.resources) -}}
{{- $old := int64 .Values.heap.maxOldSpaceMiB -}}
{{- if $limit }}
{{- $fits := sub (int64 $limit) (int64 (include "wf.heapOverheadMiB" .)) -}}
{{- if lt $fits $old }}{{ $old = $fits }}{{ end -}}
{{- end -}}
{{- $old -}}
{{- end }}

{{/*
A Prometheus duration (1m30s, 500ms; values.schema.json allows ms, s, m, h, with fractions) in milliseconds.
*/}}
{{- define "wf.durationMs" -}}
{{- $ms := 0.0 }}
{{- $units := dict "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 }}
{{- range regexFindAll "[0-9]+([.][0-9]+)?(ms|s|m|h)" (toString .) -1 }}
{{- $number := regexFind "^[0-9]+([.][0-9]+)?" . }}
{{- $ms = addf $ms (mulf (float64 $number) (get $units (trimPrefix $number .))) }}
{{- end }}
{{- $ms }}
{{- end }}

{{/* Mount paths inside the container. */}}
{{- define "wf.callersDir" -}}/etc/webhook-fulfillment/callers{{- end }}
{{- define "wf.tlsDir" -}}/etc/webhook-fulfillment/tls{{- end }}
{{- define "wf.clientCaDir" -}}/etc/webhook-fulfillment/client-ca{{- end }}
{{- define "wf.crlDir" -}}/etc/webhook-fulfillment/crl{{- end }}

{{/*
Checks across values that the schema cannot express; each failure names the values to change.
*/}}
{{- define "wf.validate" -}}
{{- $v := .Values }}
{{- if and $v.probes.grpc.enabled $v.tls.enabled }}
{{- fail "probes.grpc.enabled needs tls.enabled=false: the kubelet's gRPC probe speaks plaintext only, and with tls.enabled the gRPC port serves TLS. Use the HTTP probes, or end TLS at a proxy or mesh (tls.enabled=false)." }}
{{- end }}
{{- if and $v.probes.grpc.enabled (not $v.grpc.enabled) }}
{{- fail "probes.grpc.enabled needs grpc.enabled=true" }}
{{- end }}
{{- /* Every port the pod opens (as deployment.yaml does): two listeners on one port, and the service refuses to
       start (each setting alone is a free port), the pod crash-looping. */}}
{{- $ports := list (list "containerPorts.http" $v.containerPorts.http) }}
{{- if $v.grpc.enabled }}
{{- $ports = append $ports (list "containerPorts.grpc (grpc.enabled)" $v.containerPorts.grpc) }}
{{- end }}
{{- if $v.metrics.enabled }}
{{- $ports = append $ports (list "containerPorts.metrics (metrics.enabled)" $v.containerPorts.metrics) }}
{{- end }}
{{- if $v.console.enabled }}
{{- $ports = append $ports (list "containerPorts.admin (console.enabled)" $v.containerPorts.admin) }}
{{- end }}
{{- $ports = append $ports (list "probes.port" $v.probes.port) }}
{{- $taken := dict }}
{{- range $ports }}
{{- $port := toString (int64 (index . 1)) }}
{{- if hasKey $taken $port }}
{{- fail (printf "%s and %s are both %s: each of the pod's listeners needs a port of its own (the service refuses to start when two share one, and the pod crash-loops); change one of them" (get $taken $port) (index . 0) $port) }}
{{- end }}
{{- $_ := set $taken $port (index . 0) }}
{{- end }}
{{- /* Redis: REDIS_URL (from redis.existingSecret) is what the service connects with; sentinels and cluster only say
       how, and the service refuses either without it. */}}
{{- with $v.redis }}
{{- if and .sentinels .cluster }}
{{- fail "redis.sentinels and redis.cluster exclude each other: a Redis Cluster is not reached through Sentinels (the service refuses REDIS_SENTINELS with REDIS_CLUSTER=true); set one of them" }}
{{- end }}
{{- if not .existingSecret }}
{{- range list "sentinels" "cluster" "sentinelPasswordKey" }}
{{- if get $v.redis . }}
{{- fail (printf "redis.%s needs redis.existingSecret: without the Secret holding REDIS_URL (the credentials and database number, or the cluster node) the chart renders no Redis settings at all, and each replica keeps its own rate limits and replay window" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .sentinelPasswordKey (not .sentinels) }}
{{- fail "redis.sentinelPasswordKey needs redis.sentinels: it is the Sentinels' own password (REDIS_SENTINEL_PASSWORD), which nothing reads without them" }}
{{- end }}
{{- end }}
{{- range $name, $value := $v.config }}
{{- if regexMatch "^OTEL_.*HEADERS$" $name }}
{{- fail (printf "config.%s carries the collector's credentials (Authorization=...), and config goes into a ConfigMap and the release's values: set it from a Secret with extraEnv (valueFrom.secretKeyRef)" $name) }}
{{- end }}
{{- if and $v.migrations.enabled (hasPrefix "DB_MIGRATION_" $name) }}
{{- fail (printf "config.%s reaches only the serving pods, which run no migrations with migrations.enabled=true: set migrations.lockTimeoutMs or migrations.statementTimeoutMs (the migration Job's)" $name) }}
{{- end }}
{{- end }}
{{- if and $v.migrations.enabled (le (mul (int64 $v.migrations.activeDeadlineSeconds) 1000) (int64 $v.migrations.statementTimeoutMs)) }}
{{- fail "migrations.activeDeadlineSeconds must be longer than migrations.statementTimeoutMs: Kubernetes would end the Job before a statement (or the waits for a table lock) ran out and said why" }}
{{- end }}
{{- if and $v.metrics.serviceMonitor.enabled (not $v.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled=true" }}
{{- end }}
{{- with $v.metrics.serviceMonitor }}
{{- if and .enabled (gt (float64 (include "wf.durationMs" .scrapeTimeout)) (float64 (include "wf.durationMs" .interval))) }}
{{- fail (printf "metrics.serviceMonitor.scrapeTimeout (%s) must not exceed metrics.serviceMonitor.interval (%s): Prometheus refuses such a scrape, and the pods' metrics (and the alerts on them) silently disappear" .scrapeTimeout .interval) }}
{{- end }}
{{- end }}
{{- if and $v.metrics.prometheusRule.enabled (not $v.metrics.enabled) }}
{{- fail "metrics.prometheusRule.enabled needs metrics.enabled=true (its alerts read the service's metrics)" }}
{{- end }}
{{- if and $v.metrics.dashboard.enabled (not $v.metrics.enabled) }}
{{- fail "metrics.dashboard.enabled needs metrics.enabled=true (the dashboard shows the service's metrics)" }}
{{- end }}
{{- with $v.metrics.prometheusRule.alerts.certificateExpiry }}
{{- if and .enabled (ge (float64 .criticalDays) (float64 .warningDays)) }}
{{- fail "metrics.prometheusRule.alerts.certificateExpiry.criticalDays must be below warningDays" }}
{{- end }}
{{- end }}
{{- if $v.console.enabled }}
{{- range list "ADMIN_OIDC_ISSUER" "ADMIN_OIDC_CLIENT_ID" "ADMIN_PUBLIC_URL" }}
{{- if not (hasKey $v.config .) }}
{{- fail (printf "console.enabled needs config.%s: the console signs people in through OpenID Connect in production" .) }}
{{- end }}
{{- end }}
{{- if not $v.console.existingSecret }}
{{- fail "console.enabled needs console.existingSecret (ADMIN_OIDC_CLIENT_SECRET and ADMIN_SESSION_SECRET)" }}
{{- end }}
{{- end }}
{{- if and (ne $v.tls.clientAuth "off") (not $v.tls.enabled) }}
{{- fail (printf "tls.clientAuth=%s needs tls.enabled=true (client certificates are checked by the pod's own TLS)" $v.tls.clientAuth) }}
{{- end }}
{{- /* The serving certificate's CA (cert-manager's ca.crt) is no safe default: a ClusterIssuer signs a Certificate
       for any namespace that asks, so every workload allowed to create one could sign in as a caller. */}}
{{- with $v.tls.clientCa }}
{{- if and .existingSecret .useServingCa }}
{{- fail "tls.clientCa.existingSecret and tls.clientCa.useServingCa exclude each other: name the client CA's Secret, or take the TLS Secret's" }}
{{- end }}
{{- if and (include "wf.mtls" $) (not .existingSecret) (not .useServingCa) }}
{{- fail (printf "tls.clientAuth=%s needs tls.clientCa.existingSecret: a Secret with the CA bundle your callers' client certificates chain to (and only theirs). The TLS Secret's own CA is not taken by default: a cert-manager ClusterIssuer's CA signs a Certificate for any namespace that asks, so every workload allowed to create one could authenticate as a caller. Set tls.clientCa.useServingCa=true only if that CA issues certificates to nobody else" $v.tls.clientAuth) }}
{{- end }}
{{- end }}
{{- if and $v.tls.crl.existingSecret (not $v.tls.enabled) }}
{{- fail "tls.crl.existingSecret needs tls.enabled=true" }}
{{- end }}
{{- if and $v.tls.crl.existingSecret (eq $v.tls.clientAuth "off") }}
{{- fail "tls.crl.existingSecret needs tls.clientAuth optional or require: a CRL revokes client certificates, and with clientAuth off the service has no CA to check it against (it would refuse to start)" }}
{{- end }}
{{- with $v.tls.certManager.privateKey }}
{{- $sizes := ternary (list 2048 3072 4096) (list 256 384 521) (eq .algorithm "RSA") }}
{{- if not (has (int .size) $sizes) }}
{{- fail (printf "tls.certManager.privateKey.size %v does not fit algorithm %s (%s: one of %v)" .size .algorithm .algorithm $sizes) }}
{{- end }}
{{- end }}
{{- if gt (add $v.shutdown.delayMs 2000) (int64 $v.shutdown.graceMs) }}
{{- fail (printf "shutdown.delayMs (%v) must leave at least 2000 ms of shutdown.graceMs (%v) to drain: the grace period counts from SIGTERM and includes the delay (the service refuses to start otherwise)" $v.shutdown.delayMs $v.shutdown.graceMs) }}
{{- end }}
{{- if $v.tls.certManager.enabled }}
{{- if not $v.tls.enabled }}
{{- fail "tls.certManager.enabled needs tls.enabled=true" }}
{{- end }}
{{- if not $v.tls.certManager.issuerRef.name }}
{{- fail "tls.certManager.issuerRef.name is required when tls.certManager.enabled=true" }}
{{- end }}
{{- end }}
{{- $needed := div (add $v.shutdown.delayMs $v.shutdown.graceMs 1000) 1000 }}
{{- if le (int64 (include "wf.terminationGracePeriodSeconds" .)) $needed }}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%s) must exceed (shutdown.delayMs + shutdown.graceMs + 1000) / 1000 = %d s (the last second: the exit writing its last log lines), or the kubelet kills the process before it has finished shutting down" (include "wf.terminationGracePeriodSeconds" .) $needed) }}
{{- end }}
{{- range $at, $resources := dict "resources" $v.resources "migrations.resources" $v.migrations.resources }}
{{- $memory := dig "limits" "memory" "" $resources }}
{{- if and (not (kindIs "invalid" $memory)) (ne (toString $memory) "") (not (include "wf.memoryMiB" $memory)) }}
{{- fail (printf "%s.limits.memory %v is not a Kubernetes quantity (e.g. 512Mi, 1.5Gi, 800M), so the heap cannot be checked against it" $at $memory) }}
{{- end }}
{{- end }}
{{- $limit := include "wf.memoryMiB" (dig "limits" "memory" "" $v.resources) }}
{{- if and $limit (gt (add (int64 $v.heap.maxOldSpaceMiB) (int64 (include "wf.heapOverheadMiB" .))) (int64 $limit)) }}
{{- fail (printf "heap.maxOldSpaceMiB (%d) plus the young generation and 64 MiB for code and buffers (%s MiB) must fit resources.limits.memory (%s MiB), or the container is OOM-killed before V8 or readiness notice" (int64 $v.heap.maxOldSpaceMiB) (include "wf.heapOverheadMiB" .) $limit) }}
{{- end }}
{{- if $v.migrations.enabled }}
{{- $jobLimit := include "wf.memoryMiB" (dig "limits" "memory" "" $v.migrations.resources) }}
{{- if and $jobLimit (lt (int64 (include "wf.migrationOldSpaceMiB" .)) 64) }}
{{- fail (printf "migrations.resources.limits.memory (%s MiB) leaves the migration Job %s MiB of old space after the young generation and 64 MiB for code and buffers (%s MiB): at least 64 are needed; raise the limit or set heap.maxSemiSpaceMiB" $jobLimit (include "wf.migrationOldSpaceMiB" .) (include "wf.heapOverheadMiB" .)) }}
{{- end }}
{{- end }}
{{- if ge (int64 $v.heap.readinessLimitMiB) (int64 $v.heap.maxOldSpaceMiB) }}
{{- fail "heap.readinessLimitMiB must be below heap.maxOldSpaceMiB, or readiness never fails before the heap is exhausted" }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int64 $v.autoscaling.minReplicas) (int64 $v.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and $v.podDisruptionBudget.enabled (kindIs "invalid" $v.podDisruptionBudget.minAvailable) (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable) }}
{{- fail "podDisruptionBudget.enabled needs maxUnavailable or minAvailable" }}
{{- end }}
{{- end }}

{{/*
The webhook ports of a Service: http(s), and gRPC when served.
*/}}
{{- define "wf.webhookServicePorts" -}}
- name: {{ include "wf.httpPortName" . }}
  port: {{ .Values.service.ports.http }}
  targetPort: {{ include "wf.httpPortName" . }}
  protocol: TCP
  appProtocol: {{ default (ternary "https" "http" .Values.tls.enabled) .Values.service.appProtocols.http }}
{{- if .Values.grpc.enabled }}
- name: grpc
  port: {{ .Values.service.ports.grpc }}
  targetPort: grpc
  protocol: TCP
  {{- /* gRPC over TLS is opaque TLS to a mesh; in plaintext it is HTTP/2 without TLS. */}}
  appProtocol: {{ default (ternary "https" "kubernetes.io/h2c" .Values.tls.enabled) .Values.service.appProtocols.grpc }}
{{- end }}
{{- end }}
