{{/* Name of the chart. */}}
{{- define "devicelogin-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name if it already contains the chart name. */}}
{{- define "devicelogin-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "devicelogin-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "devicelogin-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "devicelogin-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "devicelogin-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "devicelogin-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "devicelogin-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "devicelogin-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Rules on the namespaced kinds and on Secrets and Events: in a ClusterRole (all namespaces) or a Role per watched namespace. */}}
{{- define "devicelogin-operator.namespacedRules" -}}
# Informers on DeviceLogins and IdentityProviders; direct GET of the IdentityProvider a DeviceLogin names.
- apiGroups: [devicelogin.io]
  resources: [devicelogins, identityproviders]
  verbs: [get, list, watch]
# The cleanup finalizer (revoke the refresh token, delete the Secret) is added once the user code is shown and removed
# after cleanup, each with a JSON patch.
- apiGroups: [devicelogin.io]
  resources: [devicelogins]
  verbs: [patch]
- apiGroups: [devicelogin.io]
  resources: [devicelogins/finalizers]
  verbs: [update]
# Status is written with a JSON patch on the status subresource.
- apiGroups: [devicelogin.io]
  resources: [devicelogins/status, identityproviders/status]
  verbs: [patch]
# Secrets, verb by verb (no patch: the operator replaces whole Secrets).
# RBAC can't restrict by Secret type or label; the operator-secrets admission policy does (values:
# admission.operatorSecrets).
# list and watch: one informer on the operator's own Secrets (label app.kubernetes.io/managed-by=devicelogin-operator:
# grant and token Secrets) replaces a GET per login step and the LIST after restarts; only labelled Secrets are cached.
# get: the grant Secret's name before a login starts (a Secret without the label is not in the informer), a token
# Secret whose write was refused, an IdentityProvider's client secret by name.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch]
# create and update: the grant Secret before the user code is published; the token Secret when tokens arrive and on
# each refresh (an update with the resourceVersion read, so a concurrent change is never overwritten).
# delete: the grant Secret when its login ends; the token Secret with its DeviceLogin (deletionPolicy Delete) or
# when a refresh names someone else.
- apiGroups: [""]
  resources: [secrets]
  verbs: [create, update, delete]
# Events on DeviceLogins (LoginStarted, LoginSucceeded, failures).
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end -}}

{{/*
"true" when the admission policies can be installed: the cluster serves ValidatingAdmissionPolicy v1 (Kubernetes
1.30+). Helm knows the cluster's kinds when it installs (and `helm template` when given kind-qualified
--api-versions, as GitOps tools do); plain `helm template` knows none, not even v1/Secret, and then renders them.
*/}}
{{- define "devicelogin-operator.admissionPolicyApi" -}}
{{- $versions := .Capabilities.APIVersions -}}
{{- if or ($versions.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy") (not ($versions.Has "v1/Secret")) -}}true{{- end -}}
{{- end -}}

{{/* The operator's own username, as the API server sees its requests. */}}
{{- define "devicelogin-operator.serviceAccountUsername" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "devicelogin-operator.serviceAccountName" .) -}}
{{- end -}}
