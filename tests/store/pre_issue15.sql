BEGIN TRANSACTION;
CREATE TABLE "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
INSERT INTO "_sqlite_migrations" VALUES(1,'dianhua','m001_initial','2026-12-02 01:38:11.381709+00:00');
INSERT INTO "_sqlite_migrations" VALUES(2,'dianhua','m002_users','2026-12-02 01:38:11.382643+00:00');
INSERT INTO "_sqlite_migrations" VALUES(3,'dianhua','m003_full_scans','2026-12-02 01:38:11.383506+00:00');
INSERT INTO "_sqlite_migrations" VALUES(4,'dianhua','m004_hot_path_indexes','2026-12-02 01:38:11.388549+00:00');
INSERT INTO "_sqlite_migrations" VALUES(5,'dianhua','m005_account_pauses','2026-12-02 01:38:11.389302+00:00');
INSERT INTO "_sqlite_migrations" VALUES(6,'dianhua','m007_sessions_roles_throttle','2026-12-02 01:38:11.396269+00:00');
INSERT INTO "_sqlite_migrations" VALUES(7,'dianhua','m006_case_events_by_comment','2026-12-02 01:38:11.396888+00:00');
INSERT INTO "_sqlite_migrations" VALUES(8,'dianhua','m008_analysts_loop','2026-12-02 01:38:11.398146+00:00');
INSERT INTO "_sqlite_migrations" VALUES(9,'dianhua','m009_case_reason','2026-12-02 01:38:11.405302+00:00');
INSERT INTO "_sqlite_migrations" VALUES(10,'dianhua','m011_private_messages','2026-12-02 01:38:11.406701+00:00');
INSERT INTO "_sqlite_migrations" VALUES(11,'dianhua','m012_alerts','2026-12-02 01:38:11.416071+00:00');
INSERT INTO "_sqlite_migrations" VALUES(12,'dianhua','m012b_comment_time_index','2026-12-02 01:38:11.416652+00:00');
CREATE TABLE "account_pauses" (
   "account" TEXT PRIMARY KEY,
   "reason" TEXT,
   "errcode" INTEGER,
   "paused_at" TEXT,
   "until" TEXT,
   "next_probe_at" TEXT,
   "probes" INTEGER DEFAULT 0,
   "announced" INTEGER DEFAULT 0
);
CREATE TABLE "alerts" (
   "id" INTEGER PRIMARY KEY,
   "key" TEXT,
   "rule" TEXT,
   "per" TEXT,
   "scope" TEXT,
   "grp" TEXT,
   "count" INTEGER,
   "baseline" REAL,
   "at" TEXT,
   "window_start" TEXT,
   "comment_ids" TEXT,
   "text" TEXT,
   "account" TEXT DEFAULT ''
);
CREATE TABLE "articles" (
   "id" TEXT PRIMARY KEY,
   "account" TEXT NOT NULL,
   "msg_data_id" TEXT NOT NULL,
   "idx" INTEGER NOT NULL,
   "title" TEXT DEFAULT '',
   "source" TEXT DEFAULT 'config',
   "published_at" TEXT,
   "added_at" TEXT,
   "cursor" INTEGER DEFAULT 0,
   "last_polled_at" TEXT,
   "next_poll_at" TEXT,
   "last_new_at" TEXT,
   "active" INTEGER DEFAULT 1,
   "polls" INTEGER DEFAULT 0
, "last_full_scan_at" TEXT);
INSERT INTO "articles" VALUES('main:2247483650:1','main','2247483650',1,'核酸结果查询','config','2026-01-08T09:00:00.000+00:00','2026-01-08T09:00:00.000+00:00',1,'2026-01-08T09:00:00.000+00:00','2026-01-08T09:01:00.000+00:00','2026-01-08T09:00:00.000+00:00',1,1,NULL);
CREATE TABLE "breaches" (
   "case_id" INTEGER,
   "deadline" TEXT,
   "due_at" TEXT,
   "recorded_at" TEXT,
   PRIMARY KEY ("case_id", "deadline")
);
CREATE TABLE "case_events" (
   "id" INTEGER PRIMARY KEY,
   "case_id" INTEGER REFERENCES "cases"("id"),
   "at" TEXT,
   "actor" TEXT,
   "kind" TEXT,
   "from_status" TEXT,
   "to_status" TEXT,
   "note" TEXT,
   "comment_id" TEXT
);
CREATE TABLE "cases" (
   "id" INTEGER PRIMARY KEY,
   "comment_id" TEXT,
   "account" TEXT,
   "openid" TEXT,
   "article_id" TEXT,
   "status" TEXT,
   "priority" TEXT,
   "queue" TEXT DEFAULT '',
   "route" TEXT DEFAULT '',
   "contact_phone" TEXT DEFAULT '',
   "contact_id" TEXT DEFAULT '',
   "assignee" TEXT DEFAULT '',
   "opened_at" TEXT,
   "updated_at" TEXT,
   "first_reply_at" TEXT,
   "contact_at" TEXT,
   "handed_off_at" TEXT,
   "resolved_at" TEXT,
   "outcome" TEXT
, "reason" TEXT NOT NULL DEFAULT '');
INSERT INTO "cases" VALUES(1,'main:2247483650:1:1','main','o-1',NULL,'awaiting_contact','P1','','','','','','2026-01-08T09:00:00+00:00',NULL,NULL,NULL,NULL,NULL,NULL,'安全网');
CREATE TABLE "classifications" (
   "comment_id" TEXT PRIMARY KEY,
   "score" REAL,
   "band" TEXT,
   "category" TEXT,
   "category_score" REAL,
   "top_terms" TEXT,
   "model_version" TEXT,
   "rules_version" TEXT,
   "matched_rules" TEXT,
   "route" TEXT,
   "tags" TEXT,
   "shadow_actions" TEXT,
   "processed_at" TEXT
);
CREATE TABLE "comments" (
   "id" TEXT PRIMARY KEY,
   "account" TEXT,
   "article_id" TEXT,
   "msg_data_id" TEXT,
   "idx" INTEGER,
   "user_comment_id" INTEGER,
   "openid" TEXT,
   "content" TEXT,
   "create_time" INTEGER,
   "comment_type" INTEGER DEFAULT 0,
   "had_reply" INTEGER DEFAULT 0,
   "received_at" TEXT,
   "state" TEXT DEFAULT 'new'
, "channel" TEXT NOT NULL DEFAULT 'comment');
INSERT INTO "comments" VALUES('main:2247483650:1:1','main','main:2247483650:1','2247483650',1,1,'o-1','能不能优先安排，因为真的挺急',1767862800,0,0,'2026-01-08T09:00:00.000+00:00','new','comment');
CREATE TABLE "label_history" (
   "id" INTEGER PRIMARY KEY,
   "comment_id" TEXT,
   "urgent" INTEGER,
   "category" TEXT,
   "editor" TEXT,
   "at" TEXT,
   "kind" TEXT
);
CREATE TABLE "labels" (
   "comment_id" TEXT PRIMARY KEY,
   "urgent" INTEGER,
   "category" TEXT,
   "editor" TEXT,
   "at" TEXT
);
CREATE TABLE "login_throttle" (
   "key" TEXT PRIMARY KEY,
   "failures" INTEGER DEFAULT 0,
   "blocked_until" TEXT,
   "updated_at" TEXT
);
CREATE TABLE "messages" (
   "id" TEXT PRIMARY KEY,
   "account" TEXT,
   "openid" TEXT,
   "msg_type" TEXT,
   "create_time" INTEGER,
   "received_at" TEXT,
   "comment_id" TEXT
);
CREATE TABLE "meta" (
   "key" TEXT PRIMARY KEY,
   "value" TEXT
);
INSERT INTO "meta" VALUES('model_version','v1');
CREATE TABLE "outbox" (
   "id" INTEGER PRIMARY KEY,
   "key" TEXT,
   "comment_id" TEXT,
   "case_id" INTEGER,
   "account" TEXT,
   "kind" TEXT,
   "rule" TEXT,
   "params" TEXT,
   "status" TEXT DEFAULT 'pending',
   "attempts" INTEGER DEFAULT 0,
   "next_attempt_at" TEXT,
   "last_error" TEXT,
   "created_at" TEXT,
   "sent_at" TEXT
);
INSERT INTO "outbox" VALUES(1,'main:2247483650:1:1:0:reply','main:2247483650:1:1',1,'main','reply',NULL,'{}','pending',0,'2026-01-08T09:00:00+00:00',NULL,'2026-01-08T09:00:00+00:00',NULL);
CREATE TABLE "sessions" (
   "id_hash" TEXT PRIMARY KEY,
   "user" TEXT,
   "created_at" TEXT,
   "last_seen_at" TEXT,
   "address" TEXT
);
CREATE TABLE "shadow_scores" (
   "comment_id" TEXT,
   "model_version" TEXT,
   "score" REAL,
   "band" TEXT,
   "category" TEXT,
   "live_version" TEXT,
   "live_score" REAL,
   "live_band" TEXT,
   "at" TEXT,
   PRIMARY KEY ("comment_id", "model_version")
);
CREATE TABLE "traces" (
   "comment_id" TEXT,
   "position" INTEGER,
   "rule" TEXT,
   "conditions" TEXT,
   "matched" INTEGER,
   "shadow" INTEGER,
   "suppressed" TEXT,
   PRIMARY KEY ("comment_id", "position")
);
CREATE TABLE "users" (
   "name" TEXT PRIMARY KEY,
   "password_hash" TEXT,
   "created_at" TEXT,
   "failed_logins" INTEGER DEFAULT 0,
   "locked_until" TEXT
, "role" TEXT NOT NULL DEFAULT 'editor', "departments" TEXT NOT NULL DEFAULT '', "accounts" TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
CREATE INDEX "idx_comments_state"
    ON "comments" ("state");
CREATE INDEX "idx_comments_account_openid"
    ON "comments" ("account", "openid");
CREATE UNIQUE INDEX "idx_outbox_key"
    ON "outbox" ("key");
CREATE INDEX "idx_outbox_status_next_attempt_at"
    ON "outbox" ("status", "next_attempt_at");
CREATE UNIQUE INDEX "idx_cases_comment_id"
    ON "cases" ("comment_id");
CREATE INDEX "idx_cases_account_openid_status"
    ON "cases" ("account", "openid", "status");
CREATE INDEX "idx_case_events_case_id"
    ON "case_events" ("case_id");
CREATE INDEX "idx_outbox_comment_id"
    ON "outbox" ("comment_id");
CREATE INDEX "idx_outbox_kind_created_at"
    ON "outbox" ("kind", "created_at");
CREATE INDEX "idx_comments_article_id"
    ON "comments" ("article_id");
CREATE INDEX "idx_sessions_user"
    ON "sessions" ("user");
CREATE INDEX "idx_comments_received_at"
    ON "comments" ("received_at");
CREATE INDEX "idx_cases_resolved_at"
    ON "cases" ("resolved_at");
CREATE INDEX "idx_case_events_comment_id"
    ON "case_events" ("comment_id");
CREATE INDEX "idx_label_history_comment_id"
    ON "label_history" ("comment_id");
CREATE INDEX "idx_shadow_scores_model_version_at"
    ON "shadow_scores" ("model_version", "at");
CREATE INDEX "idx_messages_account_openid_create_time"
    ON "messages" ("account", "openid", "create_time");
CREATE UNIQUE INDEX "idx_alerts_key"
    ON "alerts" ("key");
CREATE INDEX "idx_alerts_rule_scope_at"
    ON "alerts" ("rule", "scope", "at");
CREATE INDEX "idx_comments_create_time"
    ON "comments" ("create_time");
COMMIT;
