#!/usr/bin/env bash
# test/interop/age.sh - 'app-platform age' against Debian's age and age-keygen (TAP): both directions,
# binary and armored, edge sizes, keys from either keygen, -R files, several recipients, wrong keys,
# atomic -o, and scrypt both ways (the real age's passphrase prompt is driven through script(1)).
set -uo pipefail

BIN=${APP_PLATFORM_BIN:?APP_PLATFORM_BIN must point at the app-platform binary}
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check "description" command...
  local d=$1; shift
  if "$@" >"$W/check.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/# /' "$W/check.out"; fi
}

for tool in age age-keygen script cmp; do
  if ! command -v "$tool" >/dev/null; then
    echo "1..1"; echo "not ok 1 - '$tool' is not installed (run tools/setup/deps)"; exit 1
  fi
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

ours() { "$BIN" age "$@"; }

# Keys: one from each keygen.
age-keygen -o theirs.key 2>/dev/null
THEIRS=$(age-keygen -y theirs.key)
ours keygen -o ours.key 2>ours.keygen.err
OURS=$(sed -n 's/^# public key: //p' ours.key)

check "our keygen writes age-keygen's three-line format" \
  grep -qzP '^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\n# public key: age1[02-9ac-hj-np-z]{58}\nAGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}\n$' ours.key
check "our keygen file is 0600" test "$(stat -c %a ours.key)" = 600
check "our keygen prints 'Public key:' on stderr" grep -qx "Public key: $OURS" ours.keygen.err
check "our keygen refuses to overwrite (O_EXCL)" bash -c "! '$BIN' age keygen -o ours.key 2>/dev/null"
check "age-keygen -y agrees with our public key line" test "$(age-keygen -y ours.key)" = "$OURS"
check "our keygen -y agrees with age-keygen -y" test "$(ours keygen -y theirs.key)" = "$THEIRS"
check "our keygen -y reads stdin" test "$(ours keygen -y <theirs.key)" = "$THEIRS"

sizes=(0 1 65535 65536 65537 $((5 * 1024 * 1024 + 3)))
for size in "${sizes[@]}"; do
  head -c "$size" /dev/urandom >"p.$size"
  for armor in "" "-a"; do
    kind=${armor:+armored}; kind=${kind:-binary}
    # ours -> age (age's -o creates no file for empty output, so it writes to stdout here)
    ours encrypt $armor -r "$THEIRS" -o "c.ours.$size$armor" "p.$size" &&
      age -d -i theirs.key "c.ours.$size$armor" >"d.age.$size$armor" &&
      cmp -s "p.$size" "d.age.$size$armor" &&
      ok "ours encrypts ($kind, $size bytes), age decrypts" ||
      not_ok "ours encrypts ($kind, $size bytes), age decrypts"
    # age -> ours
    age -e $armor -r "$OURS" -o "c.age.$size$armor" "p.$size" &&
      ours decrypt -i ours.key -o "d.ours.$size$armor" "c.age.$size$armor" &&
      cmp -s "p.$size" "d.ours.$size$armor" &&
      ok "age encrypts ($kind, $size bytes), ours decrypts" ||
      not_ok "age encrypts ($kind, $size bytes), ours decrypts"
  done
done

size=65537
# stdin -> stdout both ways
check "ours encrypts stdin to stdout, age decrypts stdin" \
  bash -c "'$BIN' age encrypt -r '$THEIRS' <p.$size | age -d -i theirs.key | cmp -s - p.$size"
check "age encrypts stdin, ours decrypts stdin to stdout" \
  bash -c "age -e -a -r '$OURS' <p.$size | '$BIN' age decrypt -i ours.key | cmp -s - p.$size"

# -R recipients files and several recipients
{ echo "# team"; echo "$THEIRS"; echo; echo "$OURS"; } >recipients.txt
ours encrypt -R recipients.txt -o multi.age "p.$size"
check "-R file with two recipients: age decrypts with its key" bash -c "age -d -i theirs.key multi.age | cmp -s - p.$size"
check "-R file with two recipients: ours decrypts with its key" bash -c "'$BIN' age decrypt -i ours.key multi.age | cmp -s - p.$size"
check "two stanzas in the header" test "$(grep -ac '^-> X25519 ' multi.age)" = 2
age-keygen -o third.key 2>/dev/null
ours encrypt -r "$(age-keygen -y third.key)" -R recipients.txt -a -o multi3.age "p.$size"
check "-r plus -R: three recipients, each key decrypts with age" \
  bash -c "for k in theirs.key third.key; do age -d -i \$k multi3.age | cmp -s - p.$size || exit 1; done"
age -e -R recipients.txt -r "$(age-keygen -y third.key)" -o multi.age.age "p.$size"
check "age's multi-recipient file opens with ours (second identity file of two)" \
  bash -c "'$BIN' age decrypt -i third.key -i ours.key multi.age.age | cmp -s - p.$size"

# wrong key: clear error, non-zero exit, no output file left behind
age-keygen -o wrong.key 2>/dev/null
ours decrypt -i wrong.key -o wrong.out "c.age.$size" 2>wrong.err
rc=$?
check "wrong key: non-zero exit" test "$rc" -ne 0
check "wrong key: error names the file and the problem" grep -q "c.age.$size.*no identity matched" wrong.err
check "wrong key: no output file" test ! -e wrong.out
echo keep >existing.out
ours decrypt -i wrong.key -o existing.out "c.age.$size" 2>/dev/null
check "failed decrypt leaves an existing -o file untouched" test "$(cat existing.out)" = keep
check "no temporary files left beside the output" bash -c "! ls -A | grep -q '^\.'"
# -o naming something that is not a regular file: written in place, never replaced by a rename
mkfifo out.fifo
cat out.fifo >fifo.copy &
ours encrypt -r "$THEIRS" -o out.fifo "p.$size"
wait
check "-o a FIFO: written through, still a FIFO" \
  bash -c "test -p out.fifo && age -d -i theirs.key fifo.copy | cmp -s - p.$size"
echo old >link.target
ln -s link.target out.link
ours encrypt -r "$THEIRS" -o out.link "p.$size"
check "-o a symlink: the file it points to is replaced, the link stays" \
  bash -c "test -L out.link && age -d -i theirs.key link.target | cmp -s - p.$size"
rm -f out.fifo fifo.copy out.link link.target
head -c $(($(stat -c %s "c.age.$size") - 10)) "c.age.$size" >truncated.age
ours decrypt -i ours.key -o trunc.out truncated.age 2>trunc.err
rc=$?
check "truncated file: non-zero exit, no output file" bash -c "test $rc -ne 0 && test ! -e trunc.out"
check "truncated file: error says truncated" grep -q "truncated" trunc.err
check "age refuses a file encrypted to another key by ours" \
  bash -c "'$BIN' age encrypt -r '$OURS' <p.1 | { ! age -d -i theirs.key 2>/dev/null; }"
check "missing identity file is an error" bash -c "! '$BIN' age decrypt -i nonexistent.key c.age.1 2>/dev/null"
check "an unparsable recipient is an error" bash -c "! '$BIN' age encrypt -r age1nope <p.1 >/dev/null 2>&1"
check "binary output to a terminal is refused" \
  bash -c "script -qec \"'$BIN' age encrypt -r '$OURS' p.1\" /dev/null | grep -q 'refusing to write binary'"

# A catchable signal while decrypting with -o removes the temporary file that holds the plaintext so far:
# the input is a FIFO kept open after the first chunks, so the decryption waits for more while it is sent
# the signal (env --default-signal undoes the SIG_IGN that bash gives background jobs for INT and QUIT, and
# that nohup gives HUP).
for sig in TERM INT HUP QUIT; do
  rm -rf sigdir && mkdir sigdir && mkfifo sigdir/in.fifo
  env --default-signal=INT,QUIT,HUP,TERM "$BIN" age decrypt -i ours.key -o sigdir/out "sigdir/in.fifo" 2>/dev/null &
  pid=$!
  exec 3>sigdir/in.fifo
  head -c 300000 "c.age.$size" >&3
  for _ in $(seq 100); do compgen -G 'sigdir/.out.tmp*' >/dev/null && break; sleep 0.05; done
  had_tmp=$(compgen -G 'sigdir/.out.tmp*' >/dev/null && echo yes || echo no)
  kill -s "$sig" "$pid"
  wait "$pid"
  rc=$?
  exec 3>&-
  check "SIG$sig during 'age decrypt -o': the process dies of it, no temporary file or output is left" \
    bash -c "test $had_tmp = yes && test $rc -gt 128 && test ! -e sigdir/out && ! compgen -G 'sigdir/.out.tmp*'"
done
rm -rf sigdir

# scrypt: ours both ways (environment variable), ours via the terminal prompt, and the real age
export APP_PLATFORM_AGE_PASSPHRASE="correct horse battery staple"
ours encrypt -p -o pass.ours.age "p.$size"
check "scrypt: ours round trip (passphrase from the environment)" \
  bash -c "'$BIN' age decrypt pass.ours.age | cmp -s - p.$size"
check "scrypt: stanza is alone with work factor 18" \
  bash -c "test \"\$(grep -ac '^-> ' pass.ours.age)\" = 1 && grep -aq '^-> scrypt [A-Za-z0-9+/]\{22\} 18$' pass.ours.age"
APP_PLATFORM_AGE_PASSPHRASE=wrong ours decrypt -o pass.wrong pass.ours.age 2>pass.err
rc=$?
check "scrypt: wrong passphrase fails clearly" bash -c "test $rc -ne 0 && grep -q 'incorrect passphrase' pass.err && test ! -e pass.wrong"
check "scrypt: -p cannot be combined with -r" bash -c "! '$BIN' age encrypt -p -r '$OURS' p.1 >/dev/null 2>&1"
unset APP_PLATFORM_AGE_PASSPHRASE
(sleep 1; printf 'tty secret\n'; sleep 1; printf 'tty secret\n'; sleep 2) |
  timeout 60 script -qec "'$BIN' age encrypt -p -a -o pass.tty.age p.$size" /dev/null >/dev/null
(sleep 1; printf 'tty secret\n'; sleep 2) |
  timeout 60 script -qec "'$BIN' age decrypt -o pass.tty.out pass.tty.age" /dev/null >/dev/null
check "scrypt: ours asks on the terminal (no echo) and round-trips" cmp -s pass.tty.out "p.$size"
(sleep 1; printf 'correct horse battery staple\n'; sleep 3) |
  timeout 60 script -qec "age -d -o pass.age.out pass.ours.age" /dev/null >/dev/null
check "scrypt: ours encrypts, the real age decrypts (prompt driven by script)" cmp -s pass.age.out "p.$size"
(sleep 1; printf 'another one\n'; sleep 1; printf 'another one\n'; sleep 3) |
  timeout 60 script -qec "age -p -a -o pass.theirs.age p.$size" /dev/null >/dev/null
check "scrypt: the real age encrypts, ours decrypts" \
  bash -c "APP_PLATFORM_AGE_PASSPHRASE='another one' '$BIN' age decrypt pass.theirs.age | cmp -s - p.$size"

echo "1..$n"
[ "$failed" -eq 0 ]
