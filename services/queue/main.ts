import type { StartService } from '../../lib/service';
export const startQueue: StartService = async () => 0;
