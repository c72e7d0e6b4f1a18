#!/usr/bin/env bash
# test/interop/sops.sh - 'app-platform sops' against the real sops v3.13.2 (TAP): files we encrypt decrypt
# with 'sops -d' (MAC checked) to what sops itself gives for the same plaintext, and files sops encrypts
# decrypt with ours to exactly what 'sops -d' prints: YAML, JSON, Secret manifests, lists, nested maps,
# comments, typed scalars, multi-line strings, several documents, every crypt rule, mac_only_encrypted,
# .sops.yaml creation rules, Shamir key groups; plus bad input (malformed YAML, bad ENC[], wrong key,
# tampering) failing clearly with nothing half-written.
set -uo pipefail

BIN=${APP_PLATFORM_BIN:?APP_PLATFORM_BIN must point at the app-platform binary}
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check "description" command...
  local d=$1; shift
  if "$@" >"$W/check.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/# /' "$W/check.out" | head -20; fi
}

if [ -z "${SOPS_BIN:-}" ]; then
  SOPS_BIN=$("$SRCDIR/tools/peers/build" sops 2>/dev/null | tail -n1)
fi
for tool in "$SOPS_BIN" age-keygen cmp; do
  if [ -z "$tool" ] || ! command -v "$tool" >/dev/null; then
    echo "1..1"; echo "not ok 1 - '${tool:-sops}' is not available (tools/peers/build sops, tools/setup/deps)"; exit 1
  fi
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
mkdir home
export HOME=$W/home XDG_CONFIG_HOME=$W/home/.config
unset SOPS_AGE_KEY SOPS_AGE_RECIPIENTS

sops() { "$SOPS_BIN" "$@"; }
ours() { "$BIN" sops "$@"; }

age-keygen -o k1.txt 2>/dev/null
age-keygen -o k2.txt 2>/dev/null
age-keygen -o k3.txt 2>/dev/null
R1=$(age-keygen -y k1.txt)
R2=$(age-keygen -y k2.txt)
R3=$(age-keygen -y k3.txt)
cat k1.txt k2.txt >both.txt
export SOPS_AGE_KEY_FILE=$W/k1.txt

# ---- fixtures ----
cat >secret.yaml <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: my-app-dev
  labels:
    labrats.work/app: my-app
type: Opaque
data:
  token: dG9rZW4=
stringData:
  username: admin
  password: "s3cr3t!@#: x"
  url: postgres://admin:s3cr3t@db:5432/app?sslmode=disable
  config.json: |
    {"a": 1,
     "b": [1, 2]}
EOF
cat >nested.yaml <<'EOF'
# a head comment
app:
  name: demo   # inline comment
  replicas: 3
  ratio: 1.50
  hex: 0x1F
  octal: 0777
  enabled: true
  legacy: yes
  nothing: null
  empty: ""
  when: 2024-01-01
  big: 1234567.0
  small: 0.000001
  list:
    - a
    - 2
    - {k: v, n: 1}
    - [x, y]
  # inside app
  nested:
    deeper:
      secret_unencrypted: visible
      key: value
  text: |
    line one
    line two
  folded: >
    folded
    text
tolerations: []
extra: {}
# trailing comment
EOF
cat >multi.yaml <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: one
stringData:
  a: first
---
apiVersion: v1
kind: Secret
metadata:
  name: two
stringData:
  b: second
EOF
cat >data.json <<'EOF'
{"apiVersion": "v1", "kind": "Secret", "stringData": {"a": "x<y>&z", "n": 12, "f": 1.5, "t": true,
 "nil": null, "l": [1, "two", {"k": "v"}], "e": {}}, "unicode": "é😀\u2028"}
EOF

modes=(
  ""
  "--encrypted-regex ^(data|stringData)$"
  "--unencrypted-regex ^(kind|apiVersion|metadata)$"
  "--encrypted-suffix word"
  "--unencrypted-suffix _unencrypted"
  "--mac-only-encrypted --encrypted-regex ^(data|stringData)$"
  "--mac-only-encrypted"
)

for f in secret.yaml nested.yaml multi.yaml data.json; do
  for mode in "${modes[@]}"; do
    what="$f${mode:+ [$mode]}"
    # what sops prints for this plaintext after its own round trip
    # shellcheck disable=SC2086
    if ! sops -e --age "$R1" $mode "$f" >"s.$f" 2>err || ! sops -d "s.$f" >"expect.$f" 2>err; then
      not_ok "sops encrypts $what"; sed 's/^/# /' err | head -5; continue
    fi
    # sops -> ours
    if ours decrypt "s.$f" >"got.$f" 2>err && cmp -s "expect.$f" "got.$f"; then
      ok "sops encrypts $what, ours decrypts to what sops -d prints"
    else
      not_ok "sops encrypts $what, ours decrypts to what sops -d prints"; sed 's/^/# /' err | head -5
      diff "expect.$f" "got.$f" | head -10 | sed 's/^/# /'
    fi
    # ours -> sops (MAC checked by sops)
    # shellcheck disable=SC2086
    if ours encrypt --age "$R1" $mode "$f" >"o.$f" 2>err && sops -d "o.$f" >"sd.$f" 2>err && cmp -s "expect.$f" "sd.$f"; then
      ok "ours encrypts $what, sops -d verifies the MAC and prints the same plaintext"
    else
      not_ok "ours encrypts $what, sops -d verifies the MAC and prints the same plaintext"; sed 's/^/# /' err | head -5
      diff "expect.$f" "sd.$f" 2>/dev/null | head -10 | sed 's/^/# /'
    fi
    # and back with ours
    if ours decrypt "o.$f" >"od.$f" 2>err && cmp -s "expect.$f" "od.$f"; then
      ok "ours decrypts its own $what"
    else
      not_ok "ours decrypts its own $what"; sed 's/^/# /' err | head -5
    fi
  done
done

# ---- comment rules (sops >= 3.9): encryption starts after a marker comment ----
printf 'a: 1\n# sops:enc\nb: secret\nc: 3\nl:\n  # sops:enc\n  - x\n  - y\n' >cr.yaml
for mode in --encrypted-comment-regex --unencrypted-comment-regex; do
  check "$mode: both tools encrypt the same values" bash -c \
    "'$SOPS_BIN' -e --age '$R1' $mode sops:enc cr.yaml >s.cr.yaml && '$BIN' sops encrypt --age '$R1' $mode sops:enc cr.yaml >o.cr.yaml &&
     diff <(grep -o '^[^:]*: ENC\\|type:[a-z]*' s.cr.yaml) <(grep -o '^[^:]*: ENC\\|type:[a-z]*' o.cr.yaml)"
  check "$mode: each decrypts the other's file" bash -c \
    "'$SOPS_BIN' -d s.cr.yaml >a && '$BIN' sops decrypt s.cr.yaml >b && cmp a b && '$SOPS_BIN' -d o.cr.yaml >c && cmp a c"
done

# ---- comments right after an anchor or a tag stay where sops keeps them ----
printf 'a: &x\n  # c1\n  b: 1\nc: *x\n' >an1.yaml
printf 'l:\n- &x\n  # c2\n  k: v\n' >an2.yaml
printf 'a: !!map\n  # c3\n  b: 1\n' >an3.yaml
printf 'a: &x # c4\n  # c5\n  b: 1\n' >an4.yaml
printf 'l:\n  - &y # c6\n    # c7\n    b: 1\n' >an5.yaml
for f in an1 an2 an3 an4 an5; do
  check "comments after an anchor or tag ($f): ours writes what sops -e writes, sops -d reads it back" bash -c \
    "'$SOPS_BIN' -e --age '$R1' --unencrypted-regex . $f.yaml | sed '/^sops:/,\$d' >s.$f &&
     '$BIN' sops encrypt --age '$R1' --unencrypted-regex . $f.yaml >o.$f.yaml && sed '/^sops:/,\$d' o.$f.yaml | cmp - s.$f &&
     grep -q '# c' s.$f && '$SOPS_BIN' -d o.$f.yaml >/dev/null"
done

# ---- JSON that sops wrote with a repeated key: ours decrypts it to what sops -d prints ----
printf '{"a": "one", "b": 2, "a": "two"}\n' >dup.json
check "a repeated JSON key in a file sops wrote: ours prints what sops -d prints (both entries)" bash -c \
  "'$SOPS_BIN' -e --age '$R1' dup.json >dup.sops.json && '$SOPS_BIN' -d dup.sops.json >a && '$BIN' sops decrypt dup.sops.json >b && cmp a b"
check "a repeated JSON key in a document to encrypt is refused with its place" bash -c \
  "! '$BIN' sops encrypt --age '$R1' dup.json 2>err && grep -q \"line 1, column 22: duplicate key 'a'\" err"

# ---- parse errors name the place and never quote the document ----
printf '{"password": "hunter2secret", "x": tru}\n' >q1.json
printf '{"n": 123456789012345678901234567890, "p": "hunter2secret" x}\n' >q2.json
printf 'a: ok\nn: 18446744073709551615\np: hunter2secret\n' >q3.yaml
printf 'a: !!int hunter2secret\n' >q4.yaml
for f in q1.json q2.json q3.yaml q4.yaml; do
  check "a parse error in $f does not quote the document" bash -c \
    "! '$BIN' sops encrypt --age '$R1' $f 2>err && ! grep -qE 'hunter2|tru\\b|1234567890|18446744073709551615' err"
done
check "the JSON error gives the real position" grep -q "line 1, column 60" <("$BIN" sops encrypt --age "$R1" q2.json 2>&1)
printf 'a: ok\nb: "h\xff"\n' >u.yaml
printf '{"a": "ok",\n "b": "h\xff"}\n' >u.json
check "invalid UTF-8 in YAML: the error gives its line and column" bash -c \
  "! '$BIN' sops encrypt --age '$R1' u.yaml 2>err && grep -q 'line 2, column 6: invalid leading UTF-8' err"
check "invalid UTF-8 in JSON: the error gives its line and column" bash -c \
  "! '$BIN' sops encrypt --age '$R1' u.json 2>err && grep -q 'line 2, column 9: invalid UTF-8' err"

# ---- what the files look like ----
ours encrypt --age "$R1" --encrypted-regex '^(data|stringData)$' secret.yaml >flux.yaml
check "Secret: apiVersion, kind and metadata stay readable" grep -q '^    name: db-credentials$' flux.yaml
check "Secret: no plaintext value left" bash -c "! grep -q 's3cr3t' flux.yaml"
check "Flux's YAML marker 'mac: ENC[' is present" grep -q 'mac: ENC\[' flux.yaml
check "lastmodified is double-quoted" grep -qE '^    lastmodified: "[0-9T:-]+Z"$' flux.yaml
check "the age stanza is an armored literal block" grep -qA1 'enc: |$' flux.yaml
check "version is a sops semver" grep -qE '^    version: 3\.[0-9]+\.[0-9]+$' flux.yaml
ours encrypt --age "$R1" data.json >flux.json
check "Flux's JSON marker '\"mac\": \"ENC[' is present" grep -q '"mac": "ENC\[' flux.json
check "JSON is TAB-indented" grep -qP '^\t"kind": ' flux.json

# ---- several recipients, keys from the environment ----
ours encrypt --age "$R1,$R2" secret.yaml >two.yaml
check "two recipients: sops decrypts with the second key" env SOPS_AGE_KEY_FILE="$W/k2.txt" "$SOPS_BIN" -d two.yaml
check "SOPS_AGE_KEY (inline) works for ours" env -u SOPS_AGE_KEY_FILE SOPS_AGE_KEY="$(cat k2.txt)" "$BIN" sops decrypt two.yaml
mkdir -p home/.config/sops/age && cp k1.txt home/.config/sops/age/keys.txt
check "the default key file \$XDG_CONFIG_HOME/sops/age/keys.txt works" env -u SOPS_AGE_KEY_FILE "$BIN" sops decrypt two.yaml
rm home/.config/sops/age/keys.txt
check "SOPS_AGE_RECIPIENTS is used without --age" bash -c "SOPS_AGE_RECIPIENTS='$R2' '$BIN' sops encrypt secret.yaml >env.yaml && SOPS_AGE_KEY_FILE='$W/k2.txt' '$SOPS_BIN' -d env.yaml >/dev/null"

# ---- output types, in place, --output ----
check "--output-type json matches sops's conversion" bash -c \
  "'$SOPS_BIN' -d --output-type json s.secret.yaml >a.json && '$BIN' sops decrypt --output-type json s.secret.yaml >b.json && cmp a.json b.json"
cp secret.yaml inplace.yaml
check "encrypt --in-place" bash -c "'$BIN' sops encrypt -i --age '$R1' inplace.yaml && grep -q 'mac: ENC\[' inplace.yaml && '$SOPS_BIN' -d inplace.yaml >/dev/null"
check "decrypt --in-place restores the plaintext (0600)" bash -c \
  "'$BIN' sops decrypt --in-place inplace.yaml && cmp inplace.yaml expect.secret.yaml && test \$(stat -c %a inplace.yaml) = 600"
check "decrypt --output writes the file" bash -c "'$BIN' sops decrypt --output out.yaml s.secret.yaml && cmp out.yaml expect.secret.yaml"
mkdir -p links && cp s.secret.yaml links/real.yaml && ln -s real.yaml links/link.yaml
check "decrypt --in-place through a symlink: the link stays, the file behind it gets the plaintext" bash -c \
  "'$BIN' sops decrypt --in-place links/link.yaml && test -L links/link.yaml && cmp links/real.yaml expect.secret.yaml &&
   test \$(stat -c %a links/real.yaml) = 600 && test \$(ls -A links | wc -l) = 2"
check "encrypt --in-place through a symlink: the link stays, sops decrypts the file behind it" bash -c \
  "'$BIN' sops encrypt --in-place --age '$R1' links/link.yaml && test -L links/link.yaml &&
   '$SOPS_BIN' -d links/real.yaml | cmp - expect.secret.yaml"

# ---- .sops.yaml ----
mkdir -p repo/secrets/app-dev repo/other
cat >repo/.sops.yaml <<EOF
stores:
  yaml:
    indent: 2
creation_rules:
  - path_regex: secrets/.*\.yaml\$
    encrypted_regex: ^(data|stringData)\$
    age: $R1, $R2
  - path_regex: other/.*
    key_groups:
      - age: [$R1]
      - age: [$R2]
      - age: [$R3]
    shamir_threshold: 2
EOF
cp secret.yaml repo/secrets/app-dev/db.yaml
cp nested.yaml repo/other/n.yaml
cd repo/secrets/app-dev || exit 1
  check ".sops.yaml found from a subfolder: rule's recipients and encrypted_regex" bash -c \
    "'$BIN' sops encrypt db.yaml >db.enc.yaml && grep -q '^  encrypted_regex: ' db.enc.yaml && grep -q '^  name: db-credentials' db.enc.yaml && SOPS_AGE_KEY_FILE='$W/k2.txt' '$SOPS_BIN' -d db.enc.yaml >/dev/null"
  check "sops and ours agree on the rule's file" bash -c \
    "'$SOPS_BIN' -e db.yaml >db.sops.yaml && '$SOPS_BIN' -d db.sops.yaml >a && '$BIN' sops decrypt db.sops.yaml >b && cmp a b"
cd "$W/repo" || exit 1
  check "Shamir key groups (2 of 3) written by ours decrypt with sops" bash -c \
    "'$BIN' sops encrypt other/n.yaml >n.ours.yaml && grep -q 'shamir_threshold: 2' n.ours.yaml && SOPS_AGE_KEY_FILE='$W/both.txt' '$SOPS_BIN' -d n.ours.yaml >a"
  check "Shamir key groups written by sops decrypt with ours" bash -c \
    "'$SOPS_BIN' -e other/n.yaml >n.sops.yaml && SOPS_AGE_KEY_FILE='$W/both.txt' '$SOPS_BIN' -d n.sops.yaml >b && SOPS_AGE_KEY_FILE='$W/both.txt' '$BIN' sops decrypt n.sops.yaml >c && cmp b c"
  check "one share is not enough" bash -c "! SOPS_AGE_KEY_FILE='$W/k3.txt' '$BIN' sops decrypt n.sops.yaml 2>/dev/null"
  check "--config overrides the lookup; no matching rule is an error" bash -c \
    "printf 'creation_rules:\n  - path_regex: ^nothing\$\n    age: $R1\n' >c.yaml && ! '$BIN' sops encrypt --config c.yaml other/n.yaml 2>err && grep -q 'no creation rule' err"
cd "$W" || exit 1

# ---- many key groups: every group of the rule is used; more than Shamir's 255 is an error ----
mkdir -p g17 g256
{ echo "creation_rules:"; echo "  - key_groups:"; for _ in $(seq 16); do echo "      - age: [$R1]"; done
  echo "      - age: [$R2]"; } >g17/.sops.yaml
{ echo "creation_rules:"; echo "  - key_groups:"; for _ in $(seq 256); do echo "      - age: [$R1]"; done; } >g256/.sops.yaml
printf 'a: secret\n' >g17/f.yaml
cp g17/f.yaml g256/f.yaml
check "17 key groups: all 17 are written, sops needs the 17th group's key" bash -c \
  "cd g17 && '$BIN' sops encrypt f.yaml >f.enc.yaml && test \$(grep -c 'recipient:' f.enc.yaml) = 17 &&
   ! SOPS_AGE_KEY_FILE='$W/k1.txt' '$SOPS_BIN' -d f.enc.yaml >/dev/null 2>&1 &&
   SOPS_AGE_KEY_FILE='$W/both.txt' '$SOPS_BIN' -d f.enc.yaml | grep -q '^a: secret$'"
check "256 key groups in .sops.yaml are refused with the limit" bash -c \
  "cd g256 && ! '$BIN' sops encrypt f.yaml >/dev/null 2>err && grep -q '256 key_groups, more than the 255' err"

# ---- size limits: the error names the limit, the hint the flag; --max-size raises it ----
{ printf 'big: '; head -c $((3 << 20)) /dev/urandom | base64 -w0; printf '\n'; } >big.yaml
check "a file past --max-size: the error names it and the limit, the hint how to raise it, nothing written" bash -c \
  "! '$BIN' sops encrypt --age '$R1' --max-size 3M --output big.enc.yaml big.yaml 2>err &&
   grep -q \"'big.yaml' is larger than the limit of 3145728 bytes\" err && grep -q 'hint: .*--max-size' err && test ! -e big.enc.yaml"
check "the output past --max-size is named as such" bash -c \
  "! '$BIN' sops encrypt --age '$R1' --max-size 5M big.yaml 2>err >/dev/null && grep -q 'the output is larger than the limit of 5242880' err"
check "a larger --max-size encrypts it, and sops decrypts it" bash -c \
  "'$BIN' sops encrypt --age '$R1' --max-size 8M big.yaml >big.ours.yaml && '$SOPS_BIN' -d big.ours.yaml | cmp - big.yaml"
"$SOPS_BIN" -e --age "$R1" big.yaml >big.sops.yaml
check "a file sops wrote past --max-size is refused with the limit and the hint" bash -c \
  "! '$BIN' sops decrypt --max-size 4M big.sops.yaml 2>err >/dev/null && grep -q \"'big.sops.yaml' is larger than the limit of 4194304 bytes\" err && grep -q -- '--max-size' err"
check "with a larger --max-size ours decrypts what sops wrote" bash -c "'$BIN' sops decrypt --max-size 8M big.sops.yaml | cmp - big.yaml"
check "a bad --max-size is a usage error" bash -c "'$BIN' sops decrypt --max-size 12X big.sops.yaml 2>/dev/null; test \$? = 2"

# ---- hints: what the library says, then which flag or variable of ours helps ----
check "no key at all: the hint names SOPS_AGE_KEY_FILE and SOPS_AGE_KEY" bash -c \
  "! env -u SOPS_AGE_KEY_FILE '$BIN' sops decrypt o.secret.yaml 2>err && grep -q 'no age identity was given' err && grep -q 'hint: set SOPS_AGE_KEY_FILE' err"
check "no recipient: the hint names --age, SOPS_AGE_RECIPIENTS and .sops.yaml" bash -c \
  "! '$BIN' sops encrypt secret.yaml 2>err && grep -q 'no age recipient' err && grep -q 'hint: pass --age, set SOPS_AGE_RECIPIENTS' err"

# ---- bad input: clear errors, nothing half-written ----
printf 'a: [1, 2\nb: x\n' >bad.yaml
cp bad.yaml bad.orig
check "malformed YAML: non-zero exit, names the file and the line" bash -c \
  "! '$BIN' sops encrypt --age '$R1' -i bad.yaml 2>err && grep -q \"'bad.yaml'\" err && grep -q 'line ' err && cmp bad.yaml bad.orig"
check "failed --output leaves no file" bash -c "! '$BIN' sops encrypt --age '$R1' --output never.yaml bad.yaml 2>/dev/null && test ! -e never.yaml && ! ls .never.yaml* 2>/dev/null"
printf 'a: 1\na: 2\n' >dup.yaml
check "duplicate keys are refused with the key" bash -c "! '$BIN' sops encrypt --age '$R1' dup.yaml 2>err && grep -q \"key 'a' already defined\" err"
sed 's/\(    password: ENC\[AES256_GCM,data:\)[A-Za-z0-9+\/]/\1!/' o.secret.yaml >badenc.yaml
check "bad ENC[] value: error names the key path" bash -c "! '$BIN' sops decrypt badenc.yaml 2>err && grep -q 'stringData.password' err"
check "wrong key: error names the recipient" bash -c \
  "! SOPS_AGE_KEY_FILE='$W/k3.txt' '$BIN' sops decrypt o.secret.yaml 2>err && grep -q '$R1' err"
sed 's/name: db-credentials/name: db-credentialz/' flux.yaml >tampered.yaml
check "tampered clear value: sops reports a MAC mismatch too" bash -c "! '$SOPS_BIN' -d tampered.yaml >/dev/null 2>&1"
check "tampered clear value: ours reports a MAC mismatch, writes nothing, hints --ignore-mac" bash -c \
  "! '$BIN' sops decrypt --output tout.yaml tampered.yaml 2>err && grep -q 'MAC mismatch' err && test ! -e tout.yaml &&
   grep -q 'hint: --ignore-mac decrypts it anyway' err"
check "--ignore-mac decrypts anyway" bash -c "'$BIN' sops decrypt --ignore-mac tampered.yaml | grep -q 'db-credentialz'"
check "a plain file is not a SOPS file" bash -c "! '$BIN' sops decrypt secret.yaml 2>err && grep -q 'sops metadata not found' err"
check "encrypting twice is refused" bash -c "! '$BIN' sops encrypt --age '$R1' o.secret.yaml 2>err && grep -q 'already encrypted' err"
check "RE2-only regex syntax is refused clearly" bash -c \
  "! '$BIN' sops encrypt --age '$R1' --encrypted-regex '\\bdata' secret.yaml 2>err && grep -q 'RE2 syntax' err"
check "usage errors exit 2" bash -c "'$BIN' sops encrypt --bogus x 2>/dev/null; test \$? = 2"

echo "1..$n"
[ "$failed" -eq 0 ]
