package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func TestCipher(t *testing.T) {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key)
	other := make([]byte, KeySize)
	_, _ = rand.Read(other)
	aadA, aadB := []byte("customer-a\x00offer-1\x00e1\x00message"), []byte("customer-a\x00offer-2\x00e1\x00message")
	text := []byte("Angebot für Frau Müller")

	box, err := sealText(key, text, aadA)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(box, text) {
		t.Fatal("the sealed box holds the plaintext")
	}
	again, err := sealText(key, text, aadA)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(box, again) {
		t.Fatal("two seals of one text are equal: the nonce is not random")
	}
	if got, err := openText(key, box, aadA); err != nil || !bytes.Equal(got, text) {
		t.Fatalf("open = %q, %v; want the text", got, err)
	}

	tampered := func(i int) []byte {
		b := bytes.Clone(box)
		b[i] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name string
		key  []byte
		box  []byte
		aad  []byte
	}{
		{"WrongKey", other, box, aadA},
		{"OtherPlace", key, box, aadB},
		{"TamperedNonce", key, tampered(0), aadA},
		{"TamperedCiphertext", key, tampered(30), aadA},
		{"TamperedTag", key, tampered(len(box) - 1), aadA},
		{"Truncated", key, box[:len(box)-1], aadA},
		{"TooShort", key, box[:10], aadA},
		{"Empty", key, nil, aadA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openText(tc.key, tc.box, tc.aad)
			if !errors.Is(err, errOpen) {
				t.Fatalf("open = %q, %v; want errOpen", got, err)
			}
		})
	}
	if _, err := sealText(key[:16], text, aadA); err == nil {
		t.Error("a 16-byte key sealed")
	}
}
