// The little cryptography the GCP client needs, from the system's libcrypto (OpenSSL 3), loaded
// with dlopen like libcurl (ADR 0005). Used only when service-account key files are explicitly
// allowed (cloud.gcp.allow_key_files): an RS256 signature for the JWT-bearer token exchange.
#ifndef CLOUDCOOP_CLOUD_GCP_CRYPTO_H_
#define CLOUDCOOP_CLOUD_GCP_CRYPTO_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace cloudcoop::gcp {

// RSASSA-PKCS1-v1_5 with SHA-256 over `data`, with a PEM private key ("-----BEGIN PRIVATE KEY-----").
StatusOr<std::string> RsaSha256Sign(std::string_view pem_private_key, std::string_view data);

std::string Base64Encode(std::string_view data);
// URL-safe alphabet without padding (JWT).
std::string Base64UrlEncode(std::string_view data);

}  // namespace cloudcoop::gcp

#endif  // CLOUDCOOP_CLOUD_GCP_CRYPTO_H_
