#include "nginx_tls.hpp"

#include <cctype>

namespace hearth::server::config {

namespace {

struct Token {
  std::string text;
  int line = 0;
  bool quoted = false;
};

// nginx's lexical rules, as far as they matter here: words, quoted strings, `{`, `}`, `;`, and
// `#` comments to the end of the line (outside quotes).
Result<std::vector<Token>> tokens_of(const std::string& text) {
  std::vector<Token> out;
  int line = 1;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '{' || c == '}' || c == ';') {
      out.push_back({std::string(1, c), line, false});
      ++i;
    } else if (c == '"' || c == '\'') {
      const int opened = line;
      std::string word;
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        if (text[i] == '\n') ++line;
        word += text[i];
      }
      if (i >= text.size())
        return make_error(ErrorCode::invalid_argument, "a quote opened on line " + std::to_string(opened) + " is not closed");
      ++i;
      out.push_back({word, opened, true});
    } else {
      std::string word;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != '{' &&
             text[i] != '}' && text[i] != ';' && text[i] != '#')
        word += text[i++];
      out.push_back({word, line, false});
    }
  }
  return out;
}

}  // namespace

Result<std::vector<NginxTlsServer>> nginx_tls_servers(const std::string& text) {
  auto tokens = tokens_of(text);
  if (!tokens) return tokens.error();
  std::vector<NginxTlsServer> out;
  std::vector<std::string> blocks;  // the names of the blocks we are in
  NginxTlsServer current;
  std::vector<Token> statement;
  for (const auto& t : *tokens) {
    if (!t.quoted && t.text == "{") {
      const std::string name = statement.empty() ? std::string() : statement[0].text;
      blocks.push_back(name);
      if (name == "server") current = NginxTlsServer{statement[0].line, {}, {}, {}};
      statement.clear();
    } else if (!t.quoted && t.text == "}") {
      if (blocks.empty()) return make_error(ErrorCode::invalid_argument, "a '}' on line " + std::to_string(t.line) + " closes nothing");
      if (blocks.back() == "server" && !current.cert.empty()) out.push_back(current);
      blocks.pop_back();
      statement.clear();
    } else if (!t.quoted && t.text == ";") {
      if (!statement.empty() && !blocks.empty() && blocks.back() == "server") {
        const std::string& directive = statement[0].text;
        if (directive == "server_name")
          for (size_t i = 1; i < statement.size(); ++i) current.names.push_back(statement[i].text);
        else if (directive == "ssl_certificate" && statement.size() > 1)
          current.cert = statement[1].text;
        else if (directive == "ssl_certificate_key" && statement.size() > 1)
          current.key = statement[1].text;
      }
      statement.clear();
    } else {
      statement.push_back(t);
    }
  }
  if (!blocks.empty()) return make_error(ErrorCode::invalid_argument, "a '{' is not closed (the " + blocks.back() + " block)");
  return out;
}

}  // namespace hearth::server::config
