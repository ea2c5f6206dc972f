CREATE TABLE "boards" (
	"board_id" text PRIMARY KEY NOT NULL,
	"board_name" text NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "images" (
	"image_name" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"board_id" text,
	"queue_item_id" integer,
	"session_id" text,
	"node_id" text,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"is_intermediate" boolean DEFAULT false NOT NULL,
	"starred" boolean DEFAULT false NOT NULL,
	"metadata" jsonb,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_board_id_boards_board_id_fk" FOREIGN KEY ("board_id") REFERENCES "public"."boards"("board_id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "boards_user_created_idx" ON "boards" USING btree ("user_id","created_at" DESC NULLS FIRST,"board_id");--> statement-breakpoint
CREATE INDEX "images_user_created_idx" ON "images" USING btree ("user_id","created_at" DESC NULLS FIRST,"image_name");--> statement-breakpoint
CREATE INDEX "images_user_board_created_idx" ON "images" USING btree ("user_id","board_id","created_at" DESC NULLS FIRST,"image_name");--> statement-breakpoint
CREATE INDEX "images_board_created_idx" ON "images" USING btree ("board_id","created_at" DESC NULLS FIRST,"image_name");