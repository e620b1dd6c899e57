export { bootGuest, type GuestBootOptions, type GuestBootReport, type GuestCpuReport } from './boot.js';
