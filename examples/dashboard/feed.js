'use strict';
// examples/dashboard/feed.js -- follows the supabase_realtime publication
// through logical replication (pgoutput, pg-logical-replication for the
// replication protocol) and tells which experiment each change belongs to.
//
// The slot is TEMPORARY, created on the replication connection itself: the
// server drops it when that connection ends, however the dashboard ends
// (stop, crash, kill -9), so it never retains WAL after the dashboard is
// gone.  Changes are decoded only as far as needed: the table, and the row's
// experiment_id (element_id for element_variants).  The rows' values are
// not used: the statistics are read again through the dashboard role's
// privileges and row-level security (server.js), so the stream, which a
// REPLICATION role receives whole, never reaches a browser.

const { LogicalReplicationService, PgoutputPlugin } = require('pg-logical-replication');

// pgoutput message tags (protocol version 1)
const TAG = { RELATION: 0x52, INSERT: 0x49, UPDATE: 0x55, DELETE: 0x44, TRUNCATE: 0x54 };

// A pgoutput plugin that creates its slot as a temporary one first and
// decodes only what feed needs from each message.
class TemporarySlotPlugin extends PgoutputPlugin {
  constructor(options) {
    super(options);
    this.relations = new Map();   // relation oid -> { table, column }
  }

  async start(client, slotName) {
    // PostgreSQL 15 syntax; the slot goes away with this connection.
    await client.query(`CREATE_REPLICATION_SLOT "${slotName}" TEMPORARY LOGICAL pgoutput (SNAPSHOT 'nothing')`);
    return super.start(client, slotName, '0/0');
  }

  parse(buf) {
    switch (buf[0]) {
      case TAG.RELATION: this.relation(buf); return null;
      case TAG.INSERT: case TAG.UPDATE: case TAG.DELETE: return this.change(buf);
      case TAG.TRUNCATE: return { table: null, key: null, truncate: true };
      default: return null;     // BEGIN, COMMIT, TYPE, ORIGIN, ...
    }
  }

  // 'R': oid, namespace, name, replica identity, columns (flags, name, type, typmod)
  relation(buf) {
    const oid = buf.readUInt32BE(1);
    let off = 5;
    const cstring = () => { const end = buf.indexOf(0, off); const s = buf.toString('utf8', off, end); off = end + 1; return s; };
    const schema = cstring();
    const name = cstring();
    off += 1;
    const ncols = buf.readInt16BE(off);
    off += 2;
    let column = -1, keyName = null;
    for (let i = 0; i < ncols; i++) {
      off += 1;
      const col = cstring();
      off += 8;
      if (column < 0 && (col === 'experiment_id' || col === 'element_id')) { column = i; keyName = col; }
    }
    this.relations.set(oid, { table: `${schema}.${name}`, column, keyName });
  }

  // 'I' oid 'N' tuple | 'U' oid ['K'|'O' tuple] 'N' tuple | 'D' oid 'K'|'O' tuple
  change(buf) {
    const rel = this.relations.get(buf.readUInt32BE(1));
    if (!rel) return null;
    let off = 5;
    let key = null;
    while (off < buf.length) {
      const kind = buf[off];
      const r = tupleColumn(buf, off + 1, rel.column);
      if (r.value !== null) key = r.value;
      off = r.end;
      if (kind === 0x4e) break;   // 'N': the new tuple comes last
    }
    return { table: rel.table, keyName: rel.keyName, key };
  }
}

// The text of column `col` of the TupleData at buf[off], and where it ends.
function tupleColumn(buf, off, col) {
  const ncols = buf.readInt16BE(off);
  off += 2;
  let value = null;
  for (let i = 0; i < ncols; i++) {
    const kind = buf[off++];
    if (kind === 0x74 || kind === 0x62) {            // 't' text, 'b' binary
      const len = buf.readInt32BE(off);
      off += 4;
      if (i === col && kind === 0x74) value = buf.toString('utf8', off, off + len);
      off += len;
    }                                                  // 'n' null, 'u' unchanged TOAST
  }
  return { value, end: off };
}

// startFeed(connectionString, publication, onChange(change)): follows the
// publication; resolves to { stop(), stats } once streaming has started.
async function startFeed(connectionString, publication, onChange, log) {
  const slot = `abt_dashboard_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const stats = { slot, messages: 0, changes: 0, byTable: {}, startedAt: null };
  const plugin = new TemporarySlotPlugin({ protoVersion: 1, publicationNames: [publication] });
  // Confirm what arrived once a second, and when the server asks: the
  // statistics are read from the database, so nothing here needs keeping.
  const service = new LogicalReplicationService({ connectionString, application_name: 'abtest dashboard feed' },
    { acknowledge: { auto: false, timeoutSeconds: 1 } });
  service.on('data', (lsn, change) => {
    stats.messages++;
    if (!change) return;
    stats.changes++;
    stats.byTable[change.table] = (stats.byTable[change.table] || 0) + 1;
    onChange(change);
  });
  service.on('heartbeat', (lsn, ts, shouldRespond) => { if (shouldRespond) service.acknowledge(lsn); });
  let stopping = false;
  service.on('error', (e) => { if (!stopping) log(`replication error: ${e.message}`); });
  let done;
  await new Promise((resolve, reject) => {
    service.once('start', resolve);
    done = service.subscribe(plugin, slot);
    done.catch(reject);
  });
  stats.startedAt = Date.now();
  return {
    stats,
    // settles when the replication connection ends (rejects on an error)
    done: done.then(() => { if (!stopping) throw new Error('replication connection closed'); }),
    async stop() { stopping = true; await service.stop(); },
  };
}

module.exports = { startFeed, TemporarySlotPlugin, tupleColumn };
