{{/* Names, labels and the image reference shared by every template. */}}

{{- define "varmor.labels" -}}
app.kubernetes.io/name: varmor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "varmor.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- printf "%s/%s/%s:%s" .Values.image.registry .Values.image.namespace .Values.image.repository $tag -}}
{{- end -}}

{{/*
The label the mutating webhook selects workloads by: the last --webhookMatchLabel=key=value in
manager.args, sandbox.varmor.org/enable=true by default; an empty value selects every workload.
Renders "key: value" or nothing.
*/}}
{{- define "varmor.webhookMatchLabel" -}}
{{- $label := "sandbox.varmor.org/enable=true" -}}
{{- range .Values.manager.args -}}
{{- if hasPrefix "--webhookMatchLabel=" . -}}
{{- $label = trimPrefix "--webhookMatchLabel=" . -}}
{{- end -}}
{{- end -}}
{{- if $label -}}
{{- if not (contains "=" $label) -}}
{{- fail (printf "--webhookMatchLabel must be key=value or empty, not %q" $label) -}}
{{- end -}}
{{- $pair := splitn "=" 2 $label -}}
{{ $pair._0 | quote }}: {{ $pair._1 | quote }}
{{- end -}}
{{- end -}}

{{- define "varmor.mutatingSelector" -}}
{{- $label := include "varmor.webhookMatchLabel" . -}}
objectSelector:
{{- if $label }}
  matchLabels:
    {{ $label }}
{{- else }}
  matchLabels: {}
{{- end }}
{{- end -}}
