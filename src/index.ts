import { systemClock } from './clock.js'; console.log(systemClock.now() > 0)
