import { createRouter } from '../../http/openapi.ts';
import { queueReadRouter } from './read.ts';
import { queueWriteRouter } from './write.ts';

/** Every route of API.md section 4, mounted at `/api/v1/queue`. */
export const queueRouter = createRouter();
queueRouter.route('/', queueReadRouter);
queueRouter.route('/', queueWriteRouter);
