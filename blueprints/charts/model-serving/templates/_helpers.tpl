{{/*
Resource name: every object is named after the model, so one model owns one name per
namespace (docs/architecture.md, rendered layout).
*/}}
{{- define "model-serving.name" -}}
{{- required "model.name is required" .Values.model.name -}}
{{- /* The canary's objects (templates/canary.yaml) are named <model>-canary. */ -}}
{{- with .Track }}-{{ . }}{{ end -}}
{{- end -}}

{{- define "model-serving.serviceAccountName" -}}
{{- default .Values.model.name .Values.serviceAccount.name -}}
{{- end -}}

{{/* Selector labels never change after the first install (Deployment selectors are immutable). */}}
{{- define "model-serving.selectorLabels" -}}
app.kubernetes.io/name: {{ include "model-serving.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{- define "model-serving.labels" -}}
{{ include "model-serving.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
{{- with .Values.model.version }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
modelops.dev/model: {{ .Values.model.name | quote }}
modelops.dev/environment: {{ .Values.model.environment | quote }}
modelops.dev/team: {{ .Values.model.team | quote }}
modelops.dev/cost-center: {{ .Values.model.costCenter | quote }}
{{- end -}}

{{/* An email is not a valid label value, so the owner travels as an annotation. */}}
{{- define "model-serving.annotations" -}}
{{- with .Values.model.owner -}}
annotations:
  modelops.dev/owner: {{ . | quote }}
{{- end -}}
{{- end -}}

{{- define "model-serving.metadata" -}}
name: {{ include "model-serving.name" . | quote }}
namespace: {{ .Release.Namespace | quote }}
labels:
  {{- include "model-serving.labels" . | nindent 2 }}
{{- with include "model-serving.annotations" . }}
{{ . }}
{{- end }}
{{- end -}}

{{- define "model-serving.gpuCount" -}}
{{- int .Values.gpu.count -}}
{{- end -}}

{{/*
The runtime table as JSON: command, args, ports and probe paths. Deployment and Service
both read it, so the container ports and the Service ports cannot drift apart.
*/}}
{{- define "model-serving.runtime" -}}
{{- $v := .Values -}}
{{- if eq $v.runtime "vllm" -}}
{{- /* tensor parallelism of 0 is meaningless: a CPU-only vLLM still runs one shard */ -}}
{{- $tp := max 1 (int $v.gpu.count) | toString -}}
{{- $args := list $v.modelUri "--host" "0.0.0.0" "--port" "8000" "--tensor-parallel-size" $tp -}}
{{- dict "command" (list "vllm" "serve") "args" (concat $args $v.args) "ports" (list (dict "name" "http" "port" 8000)) "ready" "/health" "live" "/health" "startup" "/health" | toJson -}}
{{- else if eq $v.runtime "triton" -}}
{{- /* summary_latencies: the p95 the alerts and promotion gates read (generator/monitoring/runtimes.py) */ -}}
{{- $args := list (printf "--model-repository=%s" $v.modelUri) "--http-port=8000" "--grpc-port=8001" "--metrics-port=8002" "--metrics-config=summary_latencies=true" -}}
{{- $ports := list (dict "name" "http" "port" 8000) (dict "name" "grpc" "port" 8001) (dict "name" "metrics" "port" 8002) -}}
{{- dict "command" (list "tritonserver") "args" (concat $args $v.args) "ports" $ports "ready" "/v2/health/ready" "live" "/v2/health/live" "startup" "/v2/health/ready" | toJson -}}
{{- else if eq $v.runtime "custom" -}}
{{- dict "command" (list) "args" $v.args "ports" (list (dict "name" "http" "port" (int $v.port))) "ready" $v.healthPath "live" $v.healthPath "startup" $v.healthPath | toJson -}}
{{- else -}}
{{- fail (printf "runtime %q is not one of vllm, triton, custom" $v.runtime) -}}
{{- end -}}
{{- end -}}
