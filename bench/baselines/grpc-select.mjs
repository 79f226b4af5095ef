// Baseline for the gRPC row: a bare grpc-js server (the same library and .proto as the service) whose Fulfill
// reads the Struct parameters and runs the same indexed SELECT through a pg pool. It answers gRPC's plaintext
// HTTP/2 as the service row does, so the gRPC row can be compared with what grpc-js itself costs.
import { loadPackageDefinition, Server, ServerCredentials, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { BALANCE_SQL } from '../request.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const definition = loadSync('fulfillment/v1/fulfillment.proto', {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [join(root, 'src', 'grpc', 'proto')],
});
const { FulfillmentService } = loadPackageDefinition(definition).fulfillment.v1;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE ?? 10) });

const server = new Server();
server.addService(FulfillmentService.service, {
  Fulfill(call, callback) {
    const fields = call.request.parameters?.fields ?? {};
    pool
      .query({
        name: 'banking_find_account',
        text: BALANCE_SQL,
        values: [fields.user_id?.stringValue, fields.account_type?.stringValue],
      })
      .then(
        ({ rows }) => callback(null, { text: `balance ${rows[0]?.balance_minor}` }),
        (error) => callback({ code: status.INTERNAL, details: error.message }),
      );
  },
});
server.bindAsync(`127.0.0.1:${process.env.GRPC_PORT}`, ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  process.stdout.write('Listening\n');
});
process.on('SIGTERM', () => server.tryShutdown(() => pool.end().then(() => process.exit(0))));
