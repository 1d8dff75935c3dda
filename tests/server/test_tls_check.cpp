// The certificate checks hearth-server runs before it listens with TLS (server/src/tls/
// tls_check.hpp), and the development certificates it makes without the source tree
// (tls/certificates.hpp). Every fixture is made here with OpenSSL's C API, at a fixed time, so
// the results do not depend on the machine's clock.
#include <catch2/catch.hpp>

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "../support/must.hpp"
#include "../support/temp_dir.hpp"
#include "tls/certificates.hpp"
#include "tls/pem.hpp"
#include "tls/tls_check.hpp"

using namespace hearth;
using namespace hearth::server::tls;
using hearth::test::must;
using Catch::Matchers::Contains;

namespace {

constexpr int64_t kNow = 1800000000;  // 2027-01-15T08:00:00Z
constexpr int64_t kDay = 86400;

CertificateSpec ca_spec(const std::string& name) { return {name, {}, {}, true, false, kNow - kDay, kNow + 800 * kDay}; }
CertificateSpec leaf_spec(int64_t from, int64_t until) {
  return {"localhost", {"localhost"}, {"127.0.0.1"}, false, true, from, until};
}

struct Pki {
  hearth::test::TempDir dir;
  PemPair ca = must(make_certificate(ca_spec("Test Organisation CA"), nullptr));
  PemPair server = must(make_certificate(leaf_spec(kNow - kDay, kNow + 300 * kDay), &ca));

  std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    const std::string path = dir.file(name);
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path;
  }
  TlsFiles files(const PemPair& pair, const std::string& ca_pem = "") {
    TlsFiles f{write("server.crt", pair.cert), write("server.key", pair.key), "", "\"cert\" in test.json",
               "\"key\" in test.json", "\"ca\" in test.json"};
    if (!ca_pem.empty()) f.ca = write("ca.crt", ca_pem);
    return f;
  }
  static TlsCheck check(const TlsFiles& f, const std::string& name = "localhost", int64_t now = kNow) {
    return check_tls_files(f, TlsCheckOptions{name, now});
  }
};

std::string all_messages(const TlsCheck& c) {
  std::string out;
  for (const auto& f : c.findings) out += (f.problem ? "PROBLEM " : "warning ") + f.message + "\n";
  return out;
}

int problems(const TlsCheck& c) {
  int n = 0;
  for (const auto& f : c.findings) n += f.problem ? 1 : 0;
  return n;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t not_after(const std::string& pem) {
  auto cert = parse_certificate(pem);
  struct tm tm {};
  if (!cert || ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

// Whether `leaf_pem` verifies as a TLS server certificate against `ca_pem` at `now`.
bool verifies(const std::string& leaf_pem, const std::string& ca_pem, int64_t now) {
  auto leaf = parse_certificate(leaf_pem);
  auto ca = parse_certificate(ca_pem);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf.get(), nullptr);
  X509_STORE_CTX_set_time(ctx, 0, static_cast<time_t>(now));
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

}  // namespace

TEST_CASE("TLS check: a matching pair valid now that covers the name passes and keeps the bytes it checked", "[security]") {
  Pki pki;
  auto files = pki.files(pki.server, pki.ca.cert);
  for (const std::string name : {"localhost", "127.0.0.1"}) {
    auto c = Pki::check(files, name);
    INFO(all_messages(c));
    CHECK(c.ok());
    CHECK(c.findings.empty());
    CHECK(c.pem.cert == pki.server.cert);
    CHECK(c.pem.key == pki.server.key);
    CHECK_THAT(c.summary, Contains("CN=localhost") && Contains("DNS:localhost IP:127.0.0.1"));
  }
}

TEST_CASE("TLS check: a key that does not match its certificate is refused naming both files", "[security]") {
  Pki pki;
  PemPair other = must(make_certificate(leaf_spec(kNow - kDay, kNow + 300 * kDay), &pki.ca));
  auto files = pki.files(PemPair{pki.server.cert, other.key});
  auto c = Pki::check(files);
  REQUIRE_FALSE(c.ok());
  CHECK(problems(c) == 1);
  CHECK_THAT(c.problems(), Contains("the private key " + files.key + " (\"key\" in test.json) does not match") &&
                               Contains("the server certificate " + files.cert));
}

TEST_CASE("TLS check: an expired certificate and one not yet valid are refused naming the file", "[security]") {
  Pki pki;
  PemPair expired = must(make_certificate(leaf_spec(kNow - 400 * kDay, kNow - 10 * kDay), &pki.ca));
  auto files = pki.files(expired);
  auto c = Pki::check(files);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.problems(), Contains("the server certificate " + files.cert) && Contains("expired on 2027-01-05"));

  PemPair early = must(make_certificate(leaf_spec(kNow + 5 * kDay, kNow + 300 * kDay), &pki.ca));
  auto later = Pki::check(pki.files(early));
  REQUIRE_FALSE(later.ok());
  CHECK_THAT(later.problems(), Contains(files.cert) && Contains("is not valid until 2027-01-20"));

  // Ending within 30 days: it still serves, with a warning that says when.
  PemPair ending = must(make_certificate(leaf_spec(kNow - 300 * kDay, kNow + 12 * kDay), &pki.ca));
  auto soon = Pki::check(pki.files(ending));
  CHECK(soon.ok());
  CHECK_THAT(all_messages(soon), Contains("warning the server certificate " + files.cert) && Contains("in 12 days"));
}

TEST_CASE("TLS check: a certificate that does not cover the name tablets connect to is refused with the names it covers",
          "[security]") {
  Pki pki;
  auto files = pki.files(pki.server);
  for (const std::string name : {"hearth.council.example", "10.0.0.5", "::1"}) {
    auto c = Pki::check(files, name);
    INFO(name);
    REQUIRE_FALSE(c.ok());
    CHECK_THAT(c.problems(), Contains(files.cert) && Contains("does not cover " + name) &&
                                 Contains("it covers DNS:localhost IP:127.0.0.1"));
  }
  CHECK(Pki::check(files, "").ok());  // no name known (a wildcard listen address): not checked
  PemPair wildcard = must(make_certificate({"*.council.example", {"*.council.example"}, {}, false, true, kNow - kDay,
                                            kNow + 300 * kDay},
                                           &pki.ca));
  auto w = pki.files(wildcard);
  CHECK(Pki::check(w, "hearth.council.example").ok());
  CHECK_FALSE(Pki::check(w, "council.example").ok());
}

TEST_CASE("TLS check: a missing file and a directory are refused naming the file and the reason", "[security]") {
  Pki pki;
  auto files = pki.files(pki.server);
  TlsFiles missing = files;
  missing.cert = pki.dir.file("no-such.crt");
  auto c = Pki::check(missing);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.problems(), Contains("cannot read the server certificate " + missing.cert + " (\"cert\" in test.json): "
                                    "No such file or directory"));
  TlsFiles dir_key = files;
  dir_key.key = pki.dir.path().string();
  auto d = Pki::check(dir_key);
  REQUIRE_FALSE(d.ok());
  CHECK_THAT(d.problems(), Contains("cannot read the private key " + dir_key.key) && Contains("Is a directory"));
  TlsFiles none = files;
  none.cert.clear();
  CHECK_THAT(Pki::check(none).problems(), Contains("no server certificate is named (\"cert\" in test.json)"));
}

TEST_CASE("TLS check: a key file the service user may not read is refused naming it", "[security]") {
  Pki pki;
  auto files = pki.files(pki.server);
  ::chmod(files.key.c_str(), 0);
  const std::string wanted = "cannot read the private key " + files.key + " (\"key\" in test.json): Permission denied";
  if (::geteuid() != 0) {
    CHECK_THAT(Pki::check(files).problems(), Contains(wanted));
    return;
  }
  // Root reads any file: the check runs in a child as user nobody, as a service user would.
  ::chmod(pki.dir.path().c_str(), 0755);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(3);
    const auto c = Pki::check(files);
    _exit(!c.ok() && c.problems().find(wanted) != std::string::npos ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("TLS check: a key readable by any user is refused and one readable by its group is warned about",
          "[security]") {
  Pki pki;
  auto files = pki.files(pki.server);
  ::chmod(files.key.c_str(), 0644);
  auto c = Pki::check(files);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.problems(), Contains(files.key) && Contains("can be read by any user (mode 0644)") &&
                               Contains("chmod 600 " + files.key));
  ::chmod(files.key.c_str(), 0640);
  auto g = Pki::check(files);
  CHECK(g.ok());
  CHECK_THAT(all_messages(g), Contains("warning the private key " + files.key) && Contains("(mode 0640)"));
}

TEST_CASE("TLS check: an encrypted key and files that are not PEM are refused without asking for a passphrase",
          "[security]") {
  Pki pki;
  auto key = parse_private_key(pki.server.key);
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio, key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                        const_cast<char*>("secret")) == 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string encrypted(data, static_cast<size_t>(n));
  BIO_free(bio);
  REQUIRE_THAT(encrypted, Contains("ENCRYPTED PRIVATE KEY"));
  auto files = pki.files(PemPair{pki.server.cert, encrypted});
  auto c = Pki::check(files);  // stdin is not read: a prompt would hang or fail differently
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.problems(), Contains("the private key " + files.key) && Contains("is encrypted with a passphrase"));

  auto junk = pki.files(PemPair{"not a certificate\n", "not a key\n"});
  auto j = Pki::check(junk);
  CHECK_THAT(j.problems(), Contains("the server certificate " + junk.cert) && Contains("holds no PEM certificate") &&
                               Contains("the private key " + junk.key) && Contains("holds no PEM private key"));
}

TEST_CASE("TLS check: a certificate that does not chain to the organisation CA is a warning naming both files",
          "[security]") {
  Pki pki;
  PemPair rogue_ca = must(make_certificate(ca_spec("Rogue CA"), nullptr));
  PemPair rogue = must(make_certificate(leaf_spec(kNow - kDay, kNow + 300 * kDay), &rogue_ca));
  auto files = pki.files(rogue, pki.ca.cert);
  auto c = Pki::check(files);
  CHECK(c.ok());  // the server itself does not read the CA: it can start, tablets will refuse it
  CHECK_THAT(all_messages(c), Contains("warning the server certificate " + files.cert) &&
                                  Contains("does not chain to the organisation CA " + files.ca) &&
                                  Contains("tablets that were given that CA"));
  // A chain file (the server certificate, then an intermediate) is followed to the CA (one
  // that allows an intermediate below it: pathlen 1).
  CertificateSpec root_spec = ca_spec("Root CA");
  root_spec.path_length = 1;
  PemPair root = must(make_certificate(root_spec, nullptr));
  PemPair intermediate = must(make_certificate(ca_spec("Intermediate CA"), &root));
  PemPair leaf = must(make_certificate(leaf_spec(kNow - kDay, kNow + 300 * kDay), &intermediate));
  auto chained = Pki::check(pki.files(PemPair{leaf.cert + intermediate.cert, leaf.key}, root.cert));
  INFO(all_messages(chained));
  CHECK(chained.findings.empty());
  CHECK_THAT(chained.summary, Contains("with 1 intermediate certificate"));
  // Under a CA that issues leaves only (pathlen 0, as the development CA), the same chain is not valid.
  PemPair under_leaf_only = must(make_certificate(ca_spec("Intermediate CA"), &pki.ca));
  PemPair deep = must(make_certificate(leaf_spec(kNow - kDay, kNow + 300 * kDay), &under_leaf_only));
  auto too_deep = Pki::check(pki.files(PemPair{deep.cert + under_leaf_only.cert, deep.key}, pki.ca.cert));
  CHECK_THAT(all_messages(too_deep), Contains("does not chain to the organisation CA") &&
                                         Contains("path length constraint exceeded"));
}

TEST_CASE("Dev certificates: init --dev's CA and server pair are made with OpenSSL's API with the script's names and "
          "validity and keys of mode 0600",
          "[security]") {
  hearth::test::TempDir dir;
  const auto certs = dir.path() / "certs";
  auto made = must(make_dev_certificates(certs, kNow));
  CHECK(made.made.size() == 8);
  CHECK(made.kept.empty());
  for (const char* name : {"ca", "server", "rogue-ca", "rogue-server"}) {
    for (const char* ext : {".crt", ".key"}) {
      struct stat st {};
      const auto file = certs / (std::string(name) + ext);
      REQUIRE(::stat(file.c_str(), &st) == 0);
      INFO(file.string());
      CHECK((st.st_mode & 0777) == 0600);
    }
  }
  struct stat d {};
  REQUIRE(::stat(certs.c_str(), &d) == 0);
  CHECK((d.st_mode & 0777) == 0700);
  const std::string ca = read((certs / "ca.crt").string()), server = read((certs / "server.crt").string());
  CHECK(read((certs / "server.key").string()).rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  CHECK(verifies(server, ca, kNow));
  CHECK(verifies(server, ca, kNow + 396 * kDay));
  CHECK_FALSE(verifies(server, ca, kNow + 398 * kDay));  // 397 days, as the script made them
  CHECK_FALSE(verifies(read((certs / "rogue-server.crt").string()), ca, kNow));
  CHECK(verifies(read((certs / "rogue-server.crt").string()), read((certs / "rogue-ca.crt").string()), kNow));
  CHECK(not_after(ca) == kNow + 825 * kDay);
  CHECK(not_after(server) == kNow + 397 * kDay);
  TlsFiles files{(certs / "server.crt").string(), (certs / "server.key").string(), (certs / "ca.crt").string(), "", "", ""};
  for (const std::string name : {"localhost", "127.0.0.1"}) {
    auto check = check_tls_files(files, TlsCheckOptions{name, kNow});
    INFO(all_messages(check));
    CHECK(check.findings.empty());
  }
  auto key = parse_private_key(read((certs / "server.key").string()));
  CHECK(EVP_PKEY_is_a(key.get(), "EC"));
  CHECK(EVP_PKEY_get_bits(key.get()) == 256);

  // A second run keeps every file as it is.
  auto again = must(make_dev_certificates(certs, kNow + kDay));
  CHECK(again.made.empty());
  CHECK(again.kept.size() == 4);
  CHECK(read((certs / "server.crt").string()) == server);
  // A lost server pair is made again under the CA that is kept.
  std::filesystem::remove(certs / "server.crt");
  auto remade = must(make_dev_certificates(certs, kNow));
  CHECK(remade.made == std::vector<std::string>{"server.key", "server.crt"});
  CHECK(verifies(read((certs / "server.crt").string()), ca, kNow));
}
