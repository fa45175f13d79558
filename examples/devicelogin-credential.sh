#!/bin/sh
# devicelogin-credential: a kubectl exec credential plugin (client.authentication.k8s.io/v1). It prints the ID token
# that the devicelogin operator keeps fresh in a token Secret, with the token's expiry, so kubectl always uses the
# operator's current token and never refreshes by itself: the operator is the only refresher (a second refresher
# races it on rotating refresh tokens, and IdPs with reuse detection then revoke the whole session).
#
# usage: devicelogin-credential NAMESPACE SECRET [KUBECTL_OPTION...]
#   KUBECTL_OPTION: how to reach the cluster holding the Secret, e.g. --context=mgmt or --kubeconfig=/path
#
# In a kubeconfig:
#   users:
#   - name: alice
#     user:
#       exec:
#         apiVersion: client.authentication.k8s.io/v1
#         command: devicelogin-credential
#         args: [team-a, oidc-alice-example-com, --context=mgmt]
#         interactiveMode: Never
#
# Needs kubectl and base64 (coreutils, or macOS 13+). Never prints the token anywhere but standard output.
set -eu

if [ "$#" -lt 2 ]; then
  echo "usage: devicelogin-credential NAMESPACE SECRET [KUBECTL_OPTION...]" >&2
  exit 2
fi
namespace=$1
secret=$2
shift 2

# One read, so the token and its expiry come from the same version of the Secret.
if ! fields=$(kubectl "$@" --namespace "$namespace" get secret "$secret" \
    --output 'jsonpath={.type} {.data.id-token} {.data.expiry}'); then
  echo "devicelogin-credential: can not read Secret $namespace/$secret (see kubectl's message above)" >&2
  exit 1
fi
read -r type token expiry <<FIELDS
$fields
FIELDS

if [ "$type" != "devicelogin.io/oidc-tokens" ]; then
  echo "devicelogin-credential: Secret $namespace/$secret is not a DeviceLogin token Secret (type $type)" >&2
  exit 1
fi
if [ -z "${token:-}" ] || [ -z "${expiry:-}" ]; then
  echo "devicelogin-credential: Secret $namespace/$secret holds no ID token; is its DeviceLogin Ready?" >&2
  exit 1
fi
token=$(printf '%s' "$token" | base64 -d)
expiry=$(printf '%s' "$expiry" | base64 -d)

# A JWT is three base64url parts; an RFC 3339 time is digits and T Z : . + -. Anything else is not the operator's and
# could break the JSON below, so it is refused (without echoing it).
case $token in
  '' | *[!A-Za-z0-9._-]* | *.*.*.*) token_ok=no ;;
  *.*.*) token_ok=yes ;;
  *) token_ok=no ;;
esac
if [ "$token_ok" != yes ]; then
  echo "devicelogin-credential: Secret $namespace/$secret: id-token is not a JWT" >&2
  exit 1
fi
case $expiry in
  '' | *[!0-9TZ:.+-]*)
    echo "devicelogin-credential: Secret $namespace/$secret: expiry is not an RFC 3339 time" >&2
    exit 1 ;;
esac

printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' \
  "$token" "$expiry"
