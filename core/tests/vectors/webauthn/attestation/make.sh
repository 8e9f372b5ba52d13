#!/bin/sh
# Makes the attestation certificates core/tests/attestation.rs verifies: a
# vendor's root, an intermediate and packed attestation certificates for the
# test authenticator's model (AAGUID 5a5a...5a), valid 2000-2100, plus the
# ways a certificate can be wrong. Only leaf.pk8 (the attestation key the
# software authenticator signs with) is kept beside them; the CA keys are
# thrown away. Run again only to remake them: sh make.sh
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = ca
[ca]
dir = $work
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = critical, CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
1.3.6.1.4.1.45724.1.1.4 = ASN1:FORMAT:HEX,OCTETSTRING:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
[leaf_other_model]
basicConstraints = critical, CA:FALSE
1.3.6.1.4.1.45724.1.1.4 = ASN1:FORMAT:HEX,OCTETSTRING:00112233445566778899aabbccddeeff
[leaf_ca]
basicConstraints = critical, CA:TRUE
1.3.6.1.4.1.45724.1.1.4 = ASN1:FORMAT:HEX,OCTETSTRING:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
CNF
touch "$work/index.txt"
echo 1000 >"$work/serial"

# sign SUBJECT KEY ISSUER_CERT ISSUER_KEY EXTENSIONS OUT
sign() {
  openssl req -new -key "$2" -subj "$1" -out "$work/req.csr"
  if [ "$3" = self ]; then
    openssl ca -batch -config "$work/ca.cnf" -selfsign -keyfile "$4" -in "$work/req.csr" \
      -startdate 20000101000000Z -enddate 21000101000000Z -extensions "$5" -notext -out "$6" 2>/dev/null
  else
    openssl ca -batch -config "$work/ca.cnf" -cert "$3" -keyfile "$4" -in "$work/req.csr" \
      -startdate 20000101000000Z -enddate 21000101000000Z -extensions "$5" -notext -out "$6" 2>/dev/null
  fi
}

ec "$work/root.key"; ec "$work/other.key"; ec "$work/intermediate.key"; ec "$work/leaf.key"
sign "/C=SE/O=Planasonix Test Vendor/CN=Planasonix Test Attestation Root" "$work/root.key" self "$work/root.key" root root.pem
sign "/C=SE/O=Some Other Vendor/CN=Other Attestation Root" "$work/other.key" self "$work/other.key" root other-root.pem
sign "/C=SE/O=Planasonix Test Vendor/CN=Planasonix Test Attestation CA 1" "$work/intermediate.key" root.pem "$work/root.key" intermediate intermediate.pem
good="/C=SE/O=Planasonix Test Vendor/OU=Authenticator Attestation/CN=Planasonix Test Key Batch 1"
sign "$good" "$work/leaf.key" intermediate.pem "$work/intermediate.key" leaf leaf.pem
sign "/C=SE/O=Planasonix Test Vendor/OU=Something Else/CN=Planasonix Test Key Batch 1" "$work/leaf.key" intermediate.pem "$work/intermediate.key" leaf leaf-wrong-unit.pem
sign "$good" "$work/leaf.key" intermediate.pem "$work/intermediate.key" leaf_other_model leaf-other-model.pem
sign "$good" "$work/leaf.key" intermediate.pem "$work/intermediate.key" leaf_ca leaf-ca.pem
openssl pkcs8 -topk8 -nocrypt -in "$work/leaf.key" -outform DER -out leaf.pk8
for f in *.pem; do openssl x509 -in "$f" -outform DER -out "${f%.pem}.der"; done
echo "made: $(ls)"
