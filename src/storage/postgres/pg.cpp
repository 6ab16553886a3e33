#include "storage/postgres/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>

namespace herald::storage::postgres {
namespace {

std::string Trimmed(const char* s) {
    std::string out = s ? s : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

}  // namespace

// ---- parameters -----------------------------------------------------------------------------

void ArrayParam::Add(std::string_view v) {
    if (count_++ > 0) text_ += ',';
    text_ += '"';
    for (const char ch : v) {
        if (ch == '"' || ch == '\\') text_ += '\\';
        text_ += ch;
    }
    text_ += '"';
}

void ArrayParam::Add(int64_t v) {
    if (count_++ > 0) text_ += ',';
    text_ += std::to_string(v);
}

void ArrayParam::AddNull() {
    if (count_++ > 0) text_ += ',';
    text_ += "NULL";
}

std::string ArrayParam::Take() {
    std::string out = std::move(text_);
    out += '}';
    text_ = "{";
    count_ = 0;
    return out;
}

// ---- results --------------------------------------------------------------------------------

PgResult::~PgResult() { PQclear(r_); }

int PgResult::rows() const { return PQntuples(r_); }

int64_t PgResult::affected() const {
    const char* n = PQcmdTuples(r_);
    int64_t v = 0;
    if (n != nullptr) std::from_chars(n, n + std::char_traits<char>::length(n), v);
    return v;
}

std::string PgResult::Text(int row, int col) const { return std::string(View(row, col)); }

std::string_view PgResult::View(int row, int col) const {
    return std::string_view(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
}

std::optional<std::string> PgResult::OptText(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Text(row, col);
}

int64_t PgResult::Int(int row, int col) const {
    const auto v = View(row, col);
    if (v == "t") return 1;  // booleans come back as t / f
    if (v == "f") return 0;
    int64_t out = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || end != v.data() + v.size()) {
        throw PgError("expected an integer in column " + std::to_string(col) + ", got '" + std::string(v) + "'",
                      "XX000");
    }
    return out;
}

std::optional<int64_t> PgResult::OptInt(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Int(row, col);
}

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

// ---- connection -----------------------------------------------------------------------------

core::Result<std::unique_ptr<PgConn>> PgConn::Open(const std::string& url) {
    pg_conn* c = PQconnectdb(url.c_str());
    if (c == nullptr) return core::Fail(core::ErrorCode::kUnavailable, "cannot connect to PostgreSQL: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        // libpq's message names the host and the reason, never the password.
        std::string msg = Trimmed(PQerrorMessage(c));
        PQfinish(c);
        return core::Fail(core::ErrorCode::kUnavailable, "cannot connect to PostgreSQL: " + msg);
    }
    auto conn = std::unique_ptr<PgConn>(new PgConn(c));
    try {
        // Notices (e.g. "relation already exists, skipping") are not errors; keep them out of
        // stderr. Times are numbers here, so the session's time zone does not matter.
        PQsetNoticeProcessor(
            c, [](void*, const char*) {}, nullptr);
        conn->Run("SET client_min_messages = warning");
    } catch (const PgError& e) {
        return core::Fail(core::ErrorCode::kUnavailable, std::string("cannot use PostgreSQL: ") + e.what());
    }
    return conn;
}

PgConn::~PgConn() { PQfinish(c_); }

bool PgConn::healthy() const { return PQstatus(c_) == CONNECTION_OK; }

bool PgConn::InTransaction() const { return PQtransactionStatus(c_) != PQTRANS_IDLE; }

bool PgConn::Alive() {
    if (PQstatus(c_) != CONNECTION_OK) return false;
    // A server that went away (restart, failover, idle timeout) has closed the socket or sent
    // its last words: both make it readable while no query runs.
    pollfd p{PQsocket(c_), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0 && PQconsumeInput(c_) == 0) return false;
    return PQstatus(c_) == CONNECTION_OK;
}

void PgConn::Throw(const char* what, pg_result* r) {
    std::string state;
    std::string msg;
    if (r != nullptr) {
        const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        state = s ? s : "";
        msg = Trimmed(PQresultErrorMessage(r));
        PQclear(r);
    }
    if (msg.empty()) msg = Trimmed(PQerrorMessage(c_));
    throw PgError(std::string("sql=") + what + " error=" + msg, state);
}

PgResult PgConn::Exec(const PgSql& sql, const Params& params) {
    // The server-side name is made unique per connection: two statements may share a readable
    // name (each .cpp file names its own), and one name must never mean two texts.
    auto it = prepared_.find(sql.text);
    if (it == prepared_.end()) {
        std::string server_name = "h" + std::to_string(prepared_.size()) + "_" + sql.name;
        pg_result* r = PQprepare(c_, server_name.c_str(), sql.text, 0, nullptr);
        if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) Throw(sql.name, r);
        PQclear(r);
        it = prepared_.emplace(sql.text, std::move(server_name)).first;
    }
    std::vector<const char*> values;
    values.reserve(params.values().size());
    for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
    pg_result* r =
        PQexecPrepared(c_, it->second.c_str(), static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0);
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) Throw(sql.name, r);
    return PgResult(r);
}

void PgConn::Run(const char* sql) {
    pg_result* r = PQexec(c_, sql);
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) Throw("exec", r);
    PQclear(r);
}

// ---- pool -----------------------------------------------------------------------------------

PgPool::Lease::~Lease() {
    if (pool_ != nullptr && c_) pool_->Release(std::move(c_));
}

PgPool::Lease PgPool::Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
    while (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        if (c->Alive()) return Lease(*this, std::move(c));
        --open_;  // the server dropped it while it sat here: open a fresh one instead
    }
    ++open_;
    lock.unlock();
    auto c = PgConn::Open(url_);
    if (!c) {
        lock.lock();
        --open_;
        cv_.notify_one();
        throw PgError(c.error().message, "08001");
    }
    return Lease(*this, std::move(*c));
}

void PgPool::Release(std::unique_ptr<PgConn> c) {
    std::lock_guard lock(mu_);
    if (c->healthy()) {
        idle_.push_back(std::move(c));
    } else {
        --open_;  // dropped: the next Acquire opens a fresh one
    }
    cv_.notify_one();
}

// ---- transactions ---------------------------------------------------------------------------

PgTransaction::PgTransaction(PgConn& c, Durability durability) : c_(c) {
    c_.Run(durability == Durability::kRelaxed ? "BEGIN; SET LOCAL synchronous_commit = off" : "BEGIN");
}

PgTransaction::~PgTransaction() {
    if (done_) return;
    try {
        c_.Run("ROLLBACK");
    } catch (const PgError&) {
        // The connection is gone: the server rolls back on its own.
    }
}

void PgTransaction::Commit() {
    c_.Run("COMMIT");
    done_ = true;
}

}  // namespace herald::storage::postgres
