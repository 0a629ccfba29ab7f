// The public API of @mummyx/redis: several MummyX nodes behind one load balancer, coordinated
// through Redis. Everything here is optional for the other packages: without it a server is one
// node on its own.
export { attachRedis, RedisNode, type AttachRedisOptions, type RedisNodeStats } from './redis-node.js';
export { RedisUploadLocker, type RedisUploadLockerOptions } from './redis-upload-locker.js';
export { RedisEventStore, type RedisEventStoreOptions } from './redis-event-store.js';
export type { RedisClientOptions } from './client-holder.js';
export type { RedisConnectionOptions, RedisLog } from './connection.js';
export { RedisTaskStore, RedisTaskLimitError, type RedisTaskStoreOptions } from './redis-task-store.js';
export { clusterSecret, type ClusterSecretOptions } from './cluster-secret.js';
