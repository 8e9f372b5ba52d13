// @ts-check
// The provider's own short-lived state (interactions, sessions, codes,
// grants) in this process's memory. A restart signs everyone out and ends
// sign-ins in progress; nothing of the second factor is here (that is all in
// the shared store). One process only: run one provider per issuer, or give
// oidc-provider a shared adapter (see idp/README.md).

const models = new Map();

function table(name) {
  if (!models.has(name)) models.set(name, new Map());
  return models.get(name);
}

function live(entry) {
  if (entry === undefined) return undefined;
  if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) return undefined;
  return entry.payload;
}

export class MemoryAdapter {
  constructor(name) {
    this.name = name;
    this.rows = table(name);
  }

  async upsert(id, payload, expiresIn) {
    this.rows.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null });
    if (this.rows.size % 256 === 0) this.sweep();
  }

  async find(id) {
    return live(this.rows.get(id));
  }

  async findByUserCode(userCode) {
    for (const entry of this.rows.values()) {
      if (entry.payload.userCode === userCode) return live(entry);
    }
    return undefined;
  }

  async findByUid(uid) {
    for (const entry of this.rows.values()) {
      if (entry.payload.uid === uid) return live(entry);
    }
    return undefined;
  }

  async consume(id) {
    const entry = this.rows.get(id);
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    this.rows.delete(id);
  }

  async revokeByGrantId(grantId) {
    for (const t of models.values()) {
      for (const [id, entry] of t) {
        if (entry.payload.grantId === grantId) t.delete(id);
      }
    }
  }

  /** Drops expired entries. */
  sweep() {
    const now = Date.now();
    for (const [id, entry] of this.rows) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.rows.delete(id);
    }
  }
}
