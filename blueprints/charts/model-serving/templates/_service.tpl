{{/* The Service, as a template: the canary gets its own, so a route can weight the two. */}}
{{- define "model-serving.service" -}}
{{- $rt := include "model-serving.runtime" . | fromJson -}}
apiVersion: v1
kind: Service
metadata:
  {{- include "model-serving.metadata" . | nindent 2 }}
spec:
  type: ClusterIP
  selector:
    {{- include "model-serving.selectorLabels" . | nindent 4 }}
  ports:
    {{- range $rt.ports }}
    - name: {{ .name | quote }}
      port: {{ int .port }}
      targetPort: {{ .name | quote }}
      protocol: TCP
    {{- end }}
{{- end -}}
