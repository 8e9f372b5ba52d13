#!/usr/bin/env python3
"""Merges the benchmark parts into one JSON file and prints the table, with
each goal of the benchmark next to the figure it is about.
Usage: report.py OUT.json pam.json component.json jco.json store.json idp.json"""
import json
import platform
import subprocess
import sys
import time


def load(path):
    with open(path) as f:
        return json.load(f)


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 1024 / 1024
    return "%s cores, %s, %.0f GiB, %s" % (cores, cpu, mem_gib, platform.platform())


def verdict(ok):
    return "met" if ok else "NOT met"


def main():
    out, pam, comp, jco, store, idp = sys.argv[1:7]
    pam, comp, jco, store, idp = load(pam), load(comp), load(jco), load(store), load(idp)
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "pam": pam, "component": dict(comp, **jco), "store": store, "idp": idp}
    with open(out, "w") as f:
        json.dump(result, f, indent=2)

    print("Machine: %s; %s" % (result["machine"], result["date"]))
    print()
    print("PAM login latency, pamtester with a valid code, median of %d logins:" % pam["runs"])
    print()
    print("pam_planasonix runs as packaged, with the state service (`planasonix serve`) keeping")
    print("the database open; pam_planasonix_direct has no service and opens the database in")
    print("every login (what happens while the service is stopped). The goals apply to the first.")
    print("pam_planasonix_pg (when measured) is a fleet host: its state service serves a shared")
    print("PostgreSQL (a private, durable cluster on this machine, TLS verify-full).")
    print()
    print("| enrolled users | module | median | added over pam_permit | ratio to google-authenticator's added |")
    print("|---|---|---|---|---|")
    goals = []
    for n, mods in pam["sequential"].items():
        floor = mods["pam_permit"]["median_ms"]
        ga_added = mods["pam_google_authenticator"]["median_ms"] - floor
        for m, v in mods.items():
            added = v["median_ms"] - floor
            ratio = "" if m == "pam_permit" else "%.2f" % (added / ga_added)
            fails = "" if v["failures"] == 0 else " (%d failed)" % v["failures"]
            print("| %s | %s | %.2f ms%s | %.2f ms | %s |" % (n, m, v["median_ms"], fails, added, ratio))
        ours = (mods["pam_planasonix"]["median_ms"] - floor) / ga_added
        goals.append(("added latency <= 1.5x google-authenticator's, %s users" % n, "%.2fx" % ours, ours <= 1.5))
        if "pam_planasonix_pg" in mods and n != "1":
            pg = (mods["pam_planasonix_pg"]["median_ms"] - floor) / ga_added
            goals.append(("PostgreSQL: added latency <= 1.0x google-authenticator's, %s users" % n,
                          "%.2fx" % pg, pg <= 1.0))
    print()
    any_module = next(iter(pam["concurrent"].values()))
    print("32 parallel logins of distinct users (10,000 enrolled), %d logins per module:" % any_module["logins"])
    print()
    if any_module.get("private_tmp"):
        print("32 long-lived worker shells start the pamtesters, each shell with its own /tmp")
        print("(pam_wrapper's directories collide otherwise); the same for every module.")
        print()
    print("| module | p50 | p99 | failures |")
    print("|---|---|---|---|")
    for m, v in pam["concurrent"].items():
        print("| %s | %.1f ms | %.1f ms | %d |" % (m, v["p50_ms"], v["p99_ms"], v["failures"]))
    failed = [(m, v["first_failure"]) for m, v in pam["concurrent"].items() if v.get("first_failure")]
    if failed:
        print()
        print("First failure seen per module:")
        print()
        for m, text in failed:
            print("- %s: `%s`" % (m, " / ".join(text.splitlines()[-2:])))
    c = pam["concurrent"]["pam_planasonix"]
    ga = pam["concurrent"]["pam_google_authenticator"]
    goals.append(("32 parallel logins: zero failures", "%d" % c["failures"], c["failures"] == 0))
    goals.append(("32 parallel logins: p99 <= google-authenticator's p99",
                  "%.2fx" % (c["p99_ms"] / ga["p99_ms"]), c["p99_ms"] <= ga["p99_ms"]))
    pg = pam["concurrent"].get("pam_planasonix_pg")
    if pg:
        goals.append(("PostgreSQL, 32 parallel logins over two hosts: zero failures", "%d" % pg["failures"],
                      pg["failures"] == 0))
        goals.append(("PostgreSQL, 32 parallel logins over two hosts: p99 < google-authenticator's p50",
                      "%.2fx" % (pg["p99_ms"] / ga["p50_ms"]), pg["p99_ms"] < ga["p50_ms"]))
        goals.append(("PostgreSQL, 32 parallel logins over two hosts: p99 <= google-authenticator's p99",
                      "%.2fx" % (pg["p99_ms"] / ga["p99_ms"]), pg["p99_ms"] <= ga["p99_ms"]))
        print()
        print("A burst of 32 logins on 2 cores is CPU-bound, and most of a login's CPU is the same for every")
        print("module but pam_permit: pamtester resolving the user through NSS over 10,000 entries. A module's")
        print("p99 is about the time the whole burst takes, google-authenticator's p50 about half of its own;")
        print("the single-host module, with no database at all, has p99 at %.2fx google-authenticator's p50."
              % (c["p99_ms"] / ga["p50_ms"]))
    print()
    k = result["component"]
    print("Component (verify = one accepted TOTP login, replay bookkeeping and audit included). Native,")
    print("wasmtime and the bare cryptography take turns in 20 rounds; each figure is the median over the")
    print("rounds, the ratio the median of each round's own:")
    print()
    print("| measure | value |")
    print("|---|---|")
    print("| bare cryptography of a verify (3 HMAC-SHA1, 1 AEAD open, 2 HMAC-SHA256 over the %s-byte record; ring) | %.2f µs |"
          % (k.get("record_bytes", "?"), k["bare_crypto_us"]))
    print("| native core verify (in-memory store) | %.1f µs |" % k["native_verify_us"])
    print("| component warm verify, wasmtime | %.1f µs (%.0f verifies/s, one core) |" % (k["warm_verify_us"], k["warm_verifies_per_sec"]))
    print("| fresh instance + configure + verify, wasmtime (median) | %.1f µs |" % k["fresh_instance_verify_us"])
    print("| WASM/native ratio (warm) | %.2f |" % k["wasm_native_ratio"])
    print("| component verify under Node.js (jco) | %.1f µs (%.0f verifies/s) |" % (k["jco_verify_us"], k["jco_verifies_per_sec"]))
    if "passkey_wasm_native_ratio" in k:
        print("| passkey sign-in, native core (options + verify, Ed25519) | %.1f µs |" % k["passkey_native_us"])
        print("| passkey sign-in, component warm (wasmtime) | %.1f µs |" % k["passkey_warm_us"])
        print("| passkey WASM/native ratio: whole sign-in / the verify call alone | %.2f / %.2f |"
              % (k["passkey_wasm_native_ratio"], k["passkey_verify_wasm_native_ratio"]))
    if "floor_passkey_ratio" in k:
        # The floors: the same cryptography alone (bench/crypto-floor, one source), natively
        # and in a component under the host's configuration and under wasmtime's defaults.
        print("| floor: a code check's bare cryptography, native / component / component, wasmtime defaults | %.2f / %.2f / %.2f µs (%.2fx / %.2fx) |"
              % (k["floor_totp_native_us"], k["floor_totp_wasm_us"], k["floor_totp_wasm_default_us"],
                 k["floor_totp_ratio"], k["floor_totp_ratio_default"]))
        print("| floor: a passkey check's bare cryptography (2 SHA-256, 1 Ed25519 verify), same | %.1f / %.1f / %.1f µs (%.2fx / %.2fx) |"
              % (k["floor_passkey_native_us"], k["floor_passkey_wasm_us"], k["floor_passkey_wasm_default_us"],
                 k["floor_passkey_ratio"], k["floor_passkey_ratio_default"]))
        verify = k["passkey_verify_wasm_native_ratio"]
        floor = k["floor_passkey_ratio"]
        goals.append(("component passkey verify <= 2x native (floor: its cryptography alone is %.2fx in the component)" % floor,
                      "%.2fx" % verify, verify <= 2))
        goals.append(("component passkey verify <= 1.1x that floor (the engine adds little beyond the signature check)",
                      "%.2fx" % (verify / floor), verify / floor <= 1.1))
        goals.append(("component warm code verify <= 1.0x its floor (the cryptography's own WASM/native ratio)",
                      "%.2fx" % (k["wasm_native_ratio"] / k["floor_totp_ratio"]), k["wasm_native_ratio"] <= k["floor_totp_ratio"]))
    # Ratios against baselines of the same run: machines of one kind differ by 2x.
    fresh = k["fresh_instance_verify_us"] / k["warm_verify_us"]
    goals.append(("component warm verify <= 3x the native core's (WASM/native)", "%.2fx" % k["wasm_native_ratio"],
                  k["wasm_native_ratio"] <= 3))
    goals.append(("fresh instance + verify <= 3x a warm verify", "%.2fx" % fresh, fresh <= 3))
    native = k["native_verify_us"] / k["bare_crypto_us"]
    goals.append(("native verify <= 5x the bare cryptography it must do", "%.2fx" % native, native <= 5))
    jco_ratio = k["jco_verify_us"] / k["warm_verify_us"]
    goals.append(("component verify under jco <= 2x under wasmtime", "%.2fx" % jco_ratio, jco_ratio <= 2))
    print()
    print("The reference identity provider (idp/), sequential sign-ins, warm, on a private durable")
    print("PostgreSQL: from the authorization request to the redirect back with a code (sign-in page,")
    print("argon2id password, the component's decision; with MFA also the code page and an app code).")
    print("The kinds alternate; each latency is the median of %d sign-ins:" % idp["signins"])
    print()
    print("| sign-in | latency | sign-ins/s |")
    print("|---|---|---|")
    print("| MFA not required (out of the policy's scope) | %.1f ms | %.1f |" % (idp["signin_plain_ms"], idp["signins_per_sec_plain"]))
    print("| with the MFA step | %.1f ms | %.1f |" % (idp["signin_mfa_ms"], idp["signins_per_sec_mfa"]))
    goals.append(("identity provider: the MFA step <= 25% of a sign-in", "%.0f%%" % (100 * idp["mfa_share"]),
                  idp["mfa_share"] <= 0.25))
    if "signin_passkey_ms" in idp:
        print("| with a passkey as the second factor (its page, a software authenticator's answer) | %.1f ms | %.1f |"
              % (idp["signin_passkey_ms"], 1000 / idp["signin_passkey_ms"]))
        pk = idp["signin_passkey_ms"] / idp["signin_mfa_ms"]
        goals.append(("identity provider: a passkey sign-in <= 1.1x one with an app code", "%.2fx" % pk, pk <= 1.1))
    print()
    print("Store: one login's sled transaction (open, read, CAS, audit append, flush, close):")
    print()
    print("| users | database + audit trail | open | transaction |")
    print("|---|---|---|---|")
    for row in store:
        print("| %d | %.1f MB | %.2f ms | %.2f ms |" % (row["users"], row["db_bytes"] / 1e6, row["open_ms"], row["transaction_ms"]))
    print()
    print("| goal | measured | |")
    print("|---|---|---|")
    for name, value, ok in goals:
        print("| %s | %s | %s |" % (name, value, verdict(ok)))


if __name__ == "__main__":
    main()
