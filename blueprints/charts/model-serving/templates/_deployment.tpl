{{/*
The serving Deployment, as a template so the canary (templates/canary.yaml) renders the
same pod with the candidate's image, model URI and version under its own name.
*/}}
{{- define "model-serving.deployment" -}}
{{- $rt := include "model-serving.runtime" . | fromJson -}}
{{- $gpus := include "model-serving.gpuCount" . | int -}}
{{- $min := int .Values.replicas.min -}}
{{- $max := int .Values.replicas.max -}}
{{- if gt $min $max -}}
{{- fail (printf "replicas.min (%d) is greater than replicas.max (%d)" $min $max) -}}
{{- end -}}
{{- $startupBudget := mul (int .Values.startupProbe.failureThreshold) (int .Values.startupProbe.periodSeconds) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- include "model-serving.metadata" . | nindent 2 }}
spec:
  {{- /* With an HPA the replica count belongs to it; a fixed value here would make Argo CD fight it. */}}
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ $min }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- /* A new pod may spend the whole startup probe budget loading weights before it is Ready. */}}
  progressDeadlineSeconds: {{ add $startupBudget 300 }}
  selector:
    matchLabels:
      {{- include "model-serving.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      {{- if gt $gpus 0 }}
      {{- /*
      GPUs are scarce: a surge pod would need GPUs the cluster usually does not have and
      would sit Pending, stalling the rollout. Replace one pod at a time instead.
      */}}
      maxSurge: 0
      maxUnavailable: 1
      {{- else }}
      {{- /* CPU capacity is fungible: surge first so serving capacity never drops. */}}
      maxSurge: "25%"
      maxUnavailable: 0
      {{- end }}
  template:
    metadata:
      labels:
        {{- include "model-serving.labels" . | nindent 8 }}
      {{- with include "model-serving.annotations" . }}
      {{- . | nindent 6 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "model-serving.serviceAccountName" . | quote }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: 60
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        fsGroup: 1000
        seccompProfile:
          type: RuntimeDefault
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "model-serving.selectorLabels" . | nindent 14 }}
          matchLabelKeys:
            - pod-template-hash
      {{- if gt $gpus 0 }}
      {{- with .Values.gpu.nodeSelector }}
      nodeSelector:
        {{- range $key, $value := . }}
        {{ $key | quote }}: {{ $value | quote }}
        {{- end }}
      {{- end }}
      tolerations:
        - key: nvidia.com/gpu
          operator: Exists
          effect: NoSchedule
      {{- end }}
      containers:
        - name: server
          image: {{ .Values.image | quote }}
          imagePullPolicy: IfNotPresent
          {{- with $rt.command }}
          command:
            {{- range . }}
            - {{ . | quote }}
            {{- end }}
          {{- end }}
          {{- with $rt.args }}
          args:
            {{- range . }}
            - {{ . | quote }}
            {{- end }}
          {{- end }}
          env:
            - name: MODEL_URI
              value: {{ .Values.modelUri | quote }}
            {{- if eq .Values.runtime "custom" }}
            - name: PORT
              value: {{ int .Values.port | toString | quote }}
            {{- end }}
            {{- range .Values.env }}
            - name: {{ .name | quote }}
              value: {{ .value | quote }}
            {{- end }}
          ports:
            {{- range $rt.ports }}
            - name: {{ .name | quote }}
              containerPort: {{ int .port }}
              protocol: TCP
            {{- end }}
          startupProbe:
            httpGet:
              path: {{ $rt.startup | quote }}
              port: http
            periodSeconds: {{ int .Values.startupProbe.periodSeconds }}
            failureThreshold: {{ int .Values.startupProbe.failureThreshold }}
            timeoutSeconds: 5
          readinessProbe:
            httpGet:
              path: {{ $rt.ready | quote }}
              port: http
            periodSeconds: 10
            failureThreshold: 3
            timeoutSeconds: 5
          livenessProbe:
            httpGet:
              path: {{ $rt.live | quote }}
              port: http
            periodSeconds: 15
            failureThreshold: 4
            timeoutSeconds: 5
          resources:
            {{- /* requests == limits: Guaranteed QoS, and GPUs cannot be overcommitted anyway */}}
            {{- range list "requests" "limits" }}
            {{ . }}:
              cpu: {{ $.Values.resources.cpu | toString | quote }}
              memory: {{ $.Values.resources.memory | toString | quote }}
              {{- if gt $gpus 0 }}
              {{ $.Values.gpu.resource | quote }}: {{ $gpus | toString | quote }}
              {{- end }}
            {{- end }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: false
            capabilities:
              drop:
                - ALL
          {{- if gt $gpus 0 }}
          volumeMounts:
            - name: dshm
              mountPath: /dev/shm
          {{- end }}
      {{- if gt $gpus 0 }}
      {{- /* NCCL and tensor parallelism need far more than the 64Mi default /dev/shm; it counts against the memory limit. */}}
      volumes:
        - name: dshm
          emptyDir:
            medium: Memory
            sizeLimit: {{ .Values.shm.sizeLimit | toString | quote }}
      {{- end }}
{{- end -}}
