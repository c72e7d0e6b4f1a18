#!/usr/bin/env python3
"""test/e2e/fault_check.py - the checks every fault test (faults_*.sh) runs after its stream of managed
secret changes: does what the operator left in the cluster and in the platform repo equal the intended
state, exactly once? Prints one line per check, "PASS|<what>" or "FAIL|<what>|<detail>", for the TAP
script to count; exit status 0 when every check passed.

  fault_check.py settled STATE INTENTS.json
      only the intents: every live name of STATE exists, Committed (committed=true, a commit, no
      last-error) with the intended data, and nothing else of the stream is left; exit 0/1, no output
      (the caller polls it until the operator is done)
  fault_check.py repo STATE INTENTS.json REPO KEYFILE BASE [FOREIGN-PREFIX]
      the platform repo (a bare repository, branch main) against STATE: the files under secrets/ are
      exactly the intended ones (no orphan, none missing) and decrypt with the app key to the intended
      data; each intent's labrats.work/commit is on main and holds its current version; the history
      BASE..main has no merge commit, no commit whose tree equals its parent's, no commit that rewrites a
      file under secrets/ to the same decrypted content, and no two commits carrying the same change
      set. Commits touching only paths under FOREIGN-PREFIX are another writer's and only counted.
  fault_check.py pending INTENTS.json NAME REPO KEYFILE
      one intent changed while the remote is down: it is not reported Committed for its current data.
      Until the operator's next pass re-marks it, an update still carries committed=true and the commit
      of its previous version (the apiserver took the change, the operator has not observed it yet):
      that is Pending too, so the check decrypts the named commit and fails only when it holds the
      intent's current data for every target namespace
  fault_check.py history REPO BASE FOREIGN-PREFIX
      only the history checks of repo mode, on any repository (the Flux repo): files are compared by
      blob instead of decrypted content
  fault_check.py leaders REPO[,REPO...] LOG...
      replicas with --leader-elect, one LOG per process lifetime (JSON log lines): each process commits
      only while it leads (between its "leading as" line and its "not leading any more" line or the
      end of its log, the process killed), no two processes lead at the same time, no commit is logged
      as made by two processes, and every logged commit is on main in one of the REPOs
  fault_check.py delivered STATE SECRETS-DEV.json SECRETS-PROD.json APP
      what Flux applied: each intended (name, namespace) exists decrypted with the intended data, and no
      Secret from the app's platform namespace that is not intended is left (pruned)

STATE has one line per intended live managed secret: "<name>\\t<ns1,ns2>\\t<value>"; the intended data
is {value: <value>, note: n-<name>}. APP_PLATFORM_BIN decrypts (SOPS_AGE_KEY_FILE=KEYFILE).
"""
import base64
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

failed = False


def report(ok, what, detail=""):
    global failed
    if ok:
        print(f"PASS|{what}")
    else:
        failed = True
        print(f"FAIL|{what}|{detail[:1500]}".replace("\n", " / "))


def b64(s):
    return base64.b64encode(s.encode()).decode()


def load_state(path):
    state = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            name, targets, value = line.split("\t")
            state[name] = (sorted(targets.split(",")), value)
    return state


def want_data(name, value):
    return {"value": b64(value), "note": b64("n-" + name)}


def ann(obj, key):
    return ((obj.get("metadata") or {}).get("annotations") or {}).get("labrats.work/" + key)


def intents_problems(state, intents):
    """What keeps the intents from being settled (empty list when they are)."""
    problems = []
    live = {}
    for it in intents.get("items", []):
        live[it["metadata"]["name"]] = it
    for name, (targets, value) in sorted(state.items()):
        it = live.get(name)
        if it is None:
            problems.append(f"{name}: missing")
            continue
        if it["metadata"].get("deletionTimestamp") or ann(it, "marked-for-deletion"):
            problems.append(f"{name}: being deleted")
        if (it.get("data") or {}) != want_data(name, value):
            problems.append(f"{name}: data is not the intended one")
        if sorted((ann(it, "target-namespaces") or "").split(",")) != targets:
            problems.append(f"{name}: targets {ann(it, 'target-namespaces')} != {','.join(targets)}")
        if ann(it, "committed") != "true" or not ann(it, "commit"):
            problems.append(f"{name}: committed={ann(it, 'committed')} commit={ann(it, 'commit')}")
        if ann(it, "last-error"):
            problems.append(f"{name}: last-error {ann(it, 'last-error')}")
    for name in sorted(set(live) - set(state)):
        problems.append(f"{name}: still exists (deleted by the stream)")
    return problems


def git(repo, *args, check=True):
    r = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


class Decryptor:
    """Decrypts blobs of the repo with the app key; one run of the binary per distinct blob."""

    def __init__(self, repo, key):
        self.repo, self.key, self.cache = repo, key, {}
        self.tmp = tempfile.mkdtemp(prefix="fault-check-")
        self.bin = os.environ["APP_PLATFORM_BIN"]

    def blob(self, sha):
        """(decrypted document or None, error)."""
        if sha in self.cache:
            return self.cache[sha]
        raw = subprocess.run(["git", "-C", self.repo, "cat-file", "blob", sha], capture_output=True).stdout
        path = os.path.join(self.tmp, "f.sops.yaml")
        with open(path, "wb") as f:
            f.write(raw)
        env = dict(os.environ, SOPS_AGE_KEY_FILE=self.key)
        r = subprocess.run([self.bin, "sops", "decrypt", "--output-type", "json", path], capture_output=True,
                           text=True, env=env)
        res = (json.loads(r.stdout), "") if r.returncode == 0 else (None, r.stderr.strip())
        self.cache[sha] = res
        return res

    def at(self, rev, path):
        sha = git(self.repo, "rev-parse", "--verify", "-q", f"{rev}:{path}", check=False).strip()
        if not sha:
            return None, f"no {path} at {rev[:12]}"
        return self.blob(sha)

    def fingerprint(self, sha):
        if sha == "0" * 40:
            return "-"
        doc, why = self.blob(sha)
        if doc is None:
            return "undecryptable:" + sha
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def doc_ok(doc, name, ns, value):
    md = doc.get("metadata") or {}
    return md.get("name") == name and md.get("namespace") == ns and doc.get("data") == want_data(name, value)


def check_repo(state, intents, repo, key, base, foreign):
    d = Decryptor(repo, key)
    want = {f"secrets/{ns}/{name}.sops.yaml": (name, ns, value)
            for name, (targets, value) in state.items() for ns in targets}
    have = [p for p in git(repo, "ls-tree", "-r", "--name-only", "main", "--", "secrets/").split("\n") if p]
    orphans = sorted(set(have) - set(want))
    missing = sorted(set(want) - set(have))
    report(not orphans, f"no orphan file under secrets/ ({len(have)} files)", " ".join(orphans))
    report(not missing, "every intended file is in the repo", " ".join(missing))
    wrong = []
    for path, (name, ns, value) in sorted(want.items()):
        if path not in have:
            continue
        doc, why = d.at("main", path)
        if doc is None or not doc_ok(doc, name, ns, value):
            wrong.append(f"{path}: {why or 'decrypts to other data'}")
    report(not wrong, f"every file decrypts with the app key to the intended data ({len(want)} files)",
           " ".join(wrong))
    live = {it["metadata"]["name"]: it for it in intents.get("items", [])}
    bad = []
    for name, (targets, value) in sorted(state.items()):
        c = ann(live.get(name, {}), "commit") or ""
        if not c or subprocess.run(["git", "-C", repo, "merge-base", "--is-ancestor", c, "main"],
                                   capture_output=True).returncode != 0:
            bad.append(f"{name}: commit '{c}' is not on main")
            continue
        for ns in targets:
            doc, why = d.at(c, f"secrets/{ns}/{name}.sops.yaml")
            if doc is None or not doc_ok(doc, name, ns, value):
                bad.append(f"{name}: {c[:12]} does not hold its current version for {ns} {why}")
    report(not bad, "each intent's labrats.work/commit is on main and holds its current version", " ".join(bad))

    check_history(repo, base, foreign, d.fingerprint, "secrets/")


def check_history(repo, base, foreign, fingerprint, decrypted):
    """The history BASE..main: no merge, no empty commit, no rewrite of a file under the prefix decrypted
    to the same content (fingerprint(blob sha)), no two commits with the same change set; commits touching
    only paths under foreign are counted apart."""
    rng = f"{base}..main" if base else "main"
    merges = git(repo, "rev-list", "--merges", rng).split()
    report(not merges, "no merge commit", " ".join(merges))
    commits = git(repo, "rev-list", "--reverse", "--no-merges", rng).split()
    same_tree, noop, seen, dup = [], [], {}, []
    ours = foreign_n = 0
    for c in commits:
        parent = git(repo, "rev-parse", "-q", "--verify", f"{c}^", check=False).strip()
        if not parent:
            continue
        if git(repo, "rev-parse", f"{c}^{{tree}}").strip() == git(repo, "rev-parse", f"{parent}^{{tree}}").strip():
            same_tree.append(c[:12])
        changed = git(repo, "diff-tree", "-r", "--no-renames", "--no-commit-id", parent, c).strip().split("\n")
        changed = [l for l in changed if l]
        paths = [l.split("\t", 1)[1] for l in changed]
        if foreign and paths and all(p.startswith(foreign) for p in paths):
            foreign_n += 1
            continue
        ours += 1
        changeset = []
        for line in changed:
            meta, path = line.split("\t", 1)
            if not path.startswith(decrypted):
                changeset.append((path, meta.split()[3]))
                continue
            old, new = meta.split()[2], meta.split()[3]
            fo, fn = fingerprint(old), fingerprint(new)
            if fo == fn:
                noop.append(f"{c[:12]} {path}")
            changeset.append((path, fo, fn))
        key_ = tuple(sorted(changeset))
        if key_ in seen:
            dup.append(f"{seen[key_][:12]} and {c[:12]}")
        seen[key_] = c
    report(not same_tree, f"no commit whose tree equals its parent's ({ours} operator commits"
           f"{f', {foreign_n} foreign' if foreign else ''} since the start)", " ".join(same_tree))
    report(not noop, "no commit rewrites a file to the content it already had (no duplicate of a change)",
           " ".join(noop))
    report(not dup, "no two commits carry the same change set", " ".join(dup))
    print(f"NOTE|{ours} operator commits in {rng}" + (f", {foreign_n} by the other writer" if foreign else ""))


def check_pending(intents, name, repo, key):
    it = {i["metadata"]["name"]: i for i in intents.get("items", [])}.get(name)
    if it is None:
        report(False, f"{name} exists", "the intent is gone")
        return
    c = ann(it, "commit") or ""
    if ann(it, "committed") != "true" or not c:
        report(True, f"{name} is Pending (committed={ann(it, 'committed')})")
        return
    if subprocess.run(["git", "-C", repo, "cat-file", "-e", f"{c}^{{commit}}"], capture_output=True).returncode:
        report(False, f"{name} is not Committed", f"committed=true names {c[:12]}, which is not in the remote repo")
        return
    d = Decryptor(repo, key)
    targets = sorted(t for t in (ann(it, "target-namespaces") or "").split(",") if t)
    holds = []
    for ns in targets:
        doc, _ = d.at(c, f"secrets/{ns}/{name}.sops.yaml")
        md = (doc or {}).get("metadata") or {}
        holds.append(doc is not None and md.get("name") == name and md.get("namespace") == ns
                     and doc.get("data") == (it.get("data") or {}))
    if targets and all(holds):
        report(False, f"{name} is not Committed", f"committed=true, commit {c[:12]} holds its current data "
               f"for {','.join(targets)} although the remote is down")
    else:
        report(True, f"{name} is Pending (committed=true names {c[:12]}, its previous version: not yet "
               "observed by the operator)")


def check_delivered(state, dev, prod, app):
    problems = []
    by_ns = {f"{app}-dev": dev, f"{app}-prod": prod}
    for ns, lst in by_ns.items():
        got = {it["metadata"]["name"]: it for it in lst.get("items", [])
               if (ann(it, "source") or "").startswith(f"{app}-platform/")}
        for name, (targets, value) in state.items():
            if ns in targets:
                it = got.get(name)
                if it is None:
                    problems.append(f"{ns}/{name} missing")
                elif (it.get("data") or {}) != want_data(name, value):
                    problems.append(f"{ns}/{name} has other data")
        for name in got:
            if name not in state or ns not in state[name][0]:
                problems.append(f"{ns}/{name} not pruned")
    return problems


COMMITTED = re.compile(r"^(?:app|registration) '[^']+': committed .*? as ([0-9a-f]{12})")


def check_leaders(repo, logs):
    spans, outside, by_sha = [], [], {}
    for log in logs:
        lead = last = None
        with open(log, errors="replace") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # not a log line (a sanitizer report would fail the test elsewhere)
                ts = datetime.datetime.fromisoformat(rec["ts"].replace("Z", "+00:00"))
                msg = rec.get("msg", "")
                last = ts
                if msg.startswith("leading as "):
                    lead = ts
                elif "is not leading any more" in msg and lead:
                    spans.append((log, lead, ts))
                    lead = None
                m = COMMITTED.match(msg)
                if m:
                    by_sha.setdefault(m.group(1), []).append(os.path.basename(log))
                    if lead is None:
                        outside.append(f"{os.path.basename(log)} at {rec['ts']}: {msg[:120]}")
        if lead:
            spans.append((log, lead, last))
    report(not outside, f"each replica commits only while it leads ({sum(map(len, by_sha.values()))} commits "
           f"logged by {len(logs)} processes)", " ".join(outside[:5]))
    spans.sort(key=lambda s: s[1])
    overlap = [f"{os.path.basename(a[0])} led until {a[2].time()} but {os.path.basename(b[0])} from {b[1].time()}"
               for a, b in zip(spans, spans[1:]) if b[1] < a[2]]
    report(not overlap, f"no two replicas lead at the same time ({len(spans)} leaderships: " +
           ", ".join(f"{os.path.basename(s[0])} {s[1].time()}-{s[2].time()}" for s in spans) + ")",
           " ".join(overlap))
    twice = [f"{sha} by {' and '.join(who)}" for sha, who in by_sha.items() if len(who) > 1]
    report(not twice, "no commit logged as made by two processes", " ".join(twice[:5]))
    main_shas = {c[:12] for r in repo.split(",") for c in git(r, "rev-list", "main").split()}
    lost = [sha for sha in by_sha if sha not in main_shas]
    report(not lost, "every logged commit is on main", " ".join(lost[:5]))


def main():
    mode = sys.argv[1]
    if mode == "leaders":
        check_leaders(sys.argv[2], sys.argv[3:])
        sys.exit(1 if failed else 0)
    if mode == "history":
        check_history(sys.argv[2], sys.argv[3], sys.argv[4], lambda sha: sha, "\0")
        sys.exit(1 if failed else 0)
    state = load_state(sys.argv[2]) if mode != "pending" else {}
    if mode == "settled":
        with open(sys.argv[3]) as f:
            p = intents_problems(state, json.load(f))
        if p and len(sys.argv) > 4:
            print(" ".join(p[:10]))
        sys.exit(1 if p else 0)
    if mode == "repo":
        with open(sys.argv[3]) as f:
            intents = json.load(f)
        p = intents_problems(state, intents)
        report(not p, f"every intent ends Committed with its latest data ({len(state)} live)", " ".join(p))
        check_repo(state, intents, sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7] if len(sys.argv) > 7 else "")
    elif mode == "pending":
        with open(sys.argv[2]) as f:
            check_pending(json.load(f), sys.argv[3], sys.argv[4], sys.argv[5])
    elif mode == "delivered":
        with open(sys.argv[3]) as f:
            dev = json.load(f)
        with open(sys.argv[4]) as f:
            prod = json.load(f)
        p = check_delivered(state, dev, prod, sys.argv[5])
        if p and len(sys.argv) > 6:
            print(" ".join(p[:10]))
        sys.exit(1 if p else 0)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
