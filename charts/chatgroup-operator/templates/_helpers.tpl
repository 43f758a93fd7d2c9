{{/* Chart name, overridable. */}}
{{- define "chatgroup-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, with the chart name unless it already contains it. */}}
{{- define "chatgroup-operator.fullname" -}}
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

{{- define "chatgroup-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chatgroup-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "chatgroup-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "chatgroup-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "chatgroup-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "chatgroup-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "chatgroup-operator.leaseName" -}}
{{- default (include "chatgroup-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "chatgroup-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The operator's pod, for the Deployment or (sharded) the StatefulSet. */}}
{{- define "chatgroup-operator.podTemplate" -}}
metadata:
  labels:
    {{- include "chatgroup-operator.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "chatgroup-operator.serviceAccountName" . }}
  automountServiceAccountToken: true
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: operator
      image: {{ include "chatgroup-operator.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["run"]
      env:
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        {{- with .Values.watchNamespace }}
        - name: CHATGROUP_NAMESPACE
          value: {{ . | quote }}
        {{- end }}
        - name: CHATGROUP_CONCURRENCY
          value: {{ .Values.concurrency | quote }}
        - name: CHATGROUP_WORKER_THREADS
          value: {{ .Values.workerThreads | quote }}
        - name: CHATGROUP_RESYNC_INTERVAL
          value: {{ .Values.resyncInterval | quote }}
        - name: CHATGROUP_MAX_DISBANDS_PER_HOUR
          value: {{ .Values.maxDisbandsPerHour | quote }}
        - name: CHATGROUP_SECRET_REFRESH
          value: {{ .Values.secretRefresh | quote }}
        - name: CHATGROUP_LOG
          value: {{ .Values.log.level | quote }}
        - name: CHATGROUP_LOG_FORMAT
          value: {{ .Values.log.format | quote }}
        - name: CHATGROUP_METRICS_ADDR
          value: {{ printf "0.0.0.0:%d" (int .Values.metrics.port) | quote }}
        - name: CHATGROUP_LEADER_ELECT
          value: {{ .Values.leaderElection.enabled | quote }}
        {{- if .Values.leaderElection.enabled }}
        - name: CHATGROUP_LEASE_NAME
          value: {{ include "chatgroup-operator.leaseName" . | quote }}
        - name: CHATGROUP_LEASE_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: CHATGROUP_LEASE_DURATION
          value: {{ .Values.leaderElection.leaseDuration | default "15s" | quote }}
        - name: CHATGROUP_LEASE_RENEW_DEADLINE
          value: {{ .Values.leaderElection.renewDeadline | default "10s" | quote }}
        - name: CHATGROUP_LEASE_RETRY_PERIOD
          value: {{ .Values.leaderElection.retryPeriod | default "2s" | quote }}
        {{- end }}
        {{- if gt (int .Values.sharding.shards) 1 }}
        # Each pod handles the apps that hash to its ordinal (from its name).
        - name: CHATGROUP_TOTAL_SHARDS
          value: {{ .Values.sharding.shards | quote }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: metrics
          containerPort: {{ .Values.metrics.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: metrics
        initialDelaySeconds: 5
        periodSeconds: 20
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: metrics
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
        seccompProfile:
          type: RuntimeDefault
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
