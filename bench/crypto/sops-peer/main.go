// sops-peer - the peer of bench/crypto/sops: the same in-process round trip with sops's own Go packages
// (yaml store, aes cipher, age key source via SOPS_AGE_KEY_FILE, decrypt with the MAC checked), so the
// comparison is library against library without process start-up.
// usage: sops-peer PLAIN.yaml KEYFILE SECONDS  -> prints round trips per second
package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/cmd/sops/common"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/decrypt"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/stores/yaml"
)

func encrypt(plain []byte, recipient string) ([]byte, error) {
	store := yaml.NewStore(&config.YAMLStoreConfig{})
	branches, err := store.LoadPlainFile(plain)
	if err != nil {
		return nil, err
	}
	key, err := age.MasterKeyFromRecipient(recipient)
	if err != nil {
		return nil, err
	}
	tree := sops.Tree{
		Branches: branches,
		Metadata: sops.Metadata{
			KeyGroups:      []sops.KeyGroup{[]keys.MasterKey{key}},
			EncryptedRegex: "^(data|stringData)$",
			Version:        "3.13.2",
		},
	}
	dataKey, errs := tree.GenerateDataKey()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if err := common.EncryptTree(common.EncryptTreeOpts{DataKey: dataKey, Tree: &tree, Cipher: aes.NewCipher()}); err != nil {
		return nil, err
	}
	return store.EmitEncryptedFile(tree)
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sops-peer PLAIN.yaml KEYFILE SECONDS")
		os.Exit(2)
	}
	plain, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	os.Setenv("SOPS_AGE_KEY_FILE", os.Args[2])
	keyFile, err := os.ReadFile(os.Args[2])
	if err != nil {
		panic(err)
	}
	rcp := "" // age-keygen's "# public key: age1..." line
	for _, line := range strings.Split(string(keyFile), "\n") {
		if strings.HasPrefix(line, "# public key: ") {
			rcp = strings.TrimPrefix(line, "# public key: ")
		}
	}
	seconds, _ := strconv.ParseFloat(os.Args[3], 64)
	start := time.Now()
	n := 0
	for n == 0 || time.Since(start).Seconds() < seconds {
		enc, err := encrypt(plain, rcp)
		if err != nil {
			panic(err)
		}
		dec, err := decrypt.DataWithFormat(enc, formats.Yaml)
		if err != nil {
			panic(err)
		}
		if n == 0 && !bytes.Equal(dec, plain) {
			fmt.Fprintln(os.Stderr, "sops-peer: the round trip changed the plaintext")
			os.Exit(1)
		}
		n++
	}
	fmt.Printf("%.1f\n", float64(n)/time.Since(start).Seconds())
}
