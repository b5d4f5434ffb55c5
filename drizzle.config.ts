/** drizzle-kit configuration: `npx drizzle-kit generate --name <change>` writes SQL migrations to ./migrations. */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/schema/index.ts',
  out: './migrations',
});
