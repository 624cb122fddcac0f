#include "cloud/gcp/crypto.h"

#include <dlfcn.h>

#include <mutex>

namespace cloudcoop::gcp {
namespace {

// Opaque OpenSSL types: only pointers cross this boundary.
struct Libcrypto {
  void* (*bio_new_mem_buf)(const void*, int) = nullptr;
  int (*bio_free)(void*) = nullptr;
  void* (*pem_read_bio_private_key)(void*, void**, void*, void*) = nullptr;
  void (*evp_pkey_free)(void*) = nullptr;
  void* (*evp_md_ctx_new)() = nullptr;
  void (*evp_md_ctx_free)(void*) = nullptr;
  const void* (*evp_sha256)() = nullptr;
  int (*evp_digest_sign_init)(void*, void**, const void*, void*, void*) = nullptr;
  int (*evp_digest_sign)(void*, unsigned char*, size_t*, const unsigned char*, size_t) = nullptr;
  unsigned long (*err_get_error)() = nullptr;
  void (*err_error_string_n)(unsigned long, char*, size_t) = nullptr;
};

StatusOr<const Libcrypto*> LoadLibcrypto() {
  static std::once_flag once;
  static Libcrypto api;
  static Status error;
  std::call_once(once, [] {
    void* lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = dlerror();
      error = FailedPreconditionError(std::string("loading libcrypto.so.3 (to sign a service-account JWT): ") +
                                      (why != nullptr ? why : "unknown dlopen error"))
                  .WithFix("install the libssl3 package (apt-get install libssl3)");
      return;
    }
    bool ok = true;
    auto get = [&](const char* name, auto* out) {
      void* sym = dlsym(lib, name);
      if (sym == nullptr) ok = false;
      *out = reinterpret_cast<std::remove_pointer_t<decltype(out)>>(sym);
    };
    get("BIO_new_mem_buf", &api.bio_new_mem_buf);
    get("BIO_free", &api.bio_free);
    get("PEM_read_bio_PrivateKey", &api.pem_read_bio_private_key);
    get("EVP_PKEY_free", &api.evp_pkey_free);
    get("EVP_MD_CTX_new", &api.evp_md_ctx_new);
    get("EVP_MD_CTX_free", &api.evp_md_ctx_free);
    get("EVP_sha256", &api.evp_sha256);
    get("EVP_DigestSignInit", &api.evp_digest_sign_init);
    get("EVP_DigestSign", &api.evp_digest_sign);
    get("ERR_get_error", &api.err_get_error);
    get("ERR_error_string_n", &api.err_error_string_n);
    if (!ok) {
      error = FailedPreconditionError("libcrypto.so.3 lacks a function cloudcoop needs (OpenSSL 3 expected)")
                  .WithFix("install libssl3 from Debian 12 or later");
    }
  });
  if (!error.ok()) return error;
  return &api;
}

std::string OpensslError(const Libcrypto& c) {
  unsigned long e = c.err_get_error();
  if (e == 0) return "no OpenSSL error detail";
  char buf[256];
  c.err_error_string_n(e, buf, sizeof buf);
  while (c.err_get_error() != 0) {
  }
  return buf;
}

std::string Encode(std::string_view data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (pad) out += rest == 2 ? "=" : "==";
  }
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  return Encode(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true);
}

std::string Base64UrlEncode(std::string_view data) {
  return Encode(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
}

StatusOr<std::string> RsaSha256Sign(std::string_view pem, std::string_view data) {
  CC_ASSIGN_OR_RETURN(const Libcrypto* c, LoadLibcrypto());
  void* bio = c->bio_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return InternalError("BIO_new_mem_buf failed: " + OpensslError(*c));
  void* key = c->pem_read_bio_private_key(bio, nullptr, nullptr, nullptr);
  c->bio_free(bio);
  if (key == nullptr) {
    return InvalidArgumentError("the service-account key file's private_key is not a PEM private key: " +
                                OpensslError(*c))
        .WithFix("download a fresh key, or better use impersonation or workload identity instead of key files");
  }
  void* ctx = c->evp_md_ctx_new();
  std::string sig(1024, '\0');
  size_t len = sig.size();
  bool ok = ctx != nullptr && c->evp_digest_sign_init(ctx, nullptr, c->evp_sha256(), nullptr, key) == 1 &&
            c->evp_digest_sign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                               reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  std::string err = ok ? "" : OpensslError(*c);
  if (ctx != nullptr) c->evp_md_ctx_free(ctx);
  c->evp_pkey_free(key);
  if (!ok) return InternalError("RS256 signing of the token request failed: " + err);
  sig.resize(len);
  return sig;
}

}  // namespace cloudcoop::gcp
