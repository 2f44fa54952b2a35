#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

/// EVP_PKEY_ED25519 is a macro of a macro; Swift imports this constant reliably.
static const int kbuild_evp_pkey_ed25519 = EVP_PKEY_ED25519;
